# syntax=docker/dockerfile:1
#
# docker build --build-arg VERSION=1.2.3 -t warroom .
# docker run -p 8080:8080 -v warroom-data:/var/lib/warroom \
#   -e SLACK_BOT_TOKEN -e SLACK_SIGNING_SECRET warroom
#
# With no Slack variables set, warroom runs without a chat platform (health,
# metrics, alert intake) on port 8080. Mount your own file over /etc/warroom/warroom.yaml to change
# more than the Slack secrets.

# Build stage: golang on Debian bookworm carries gcc and libc6-dev, which
# github.com/mattn/go-sqlite3 (cgo) and the static link need.
FROM golang:1.26-bookworm AS build
WORKDIR /src

# Dependencies first, so that this layer is reused until go.mod/go.sum change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

COPY . .

# Keep this command identical to the one in .ci/run, which checks that it
# yields a static binary that runs in an empty root.
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath -tags 'osusergo netgo sqlite_omit_load_extension' -ldflags "-s -w -X main.version=${VERSION} -linkmode external -extldflags '-static'" -o /out/warroom ./cmd/warroom \
 && ldd /out/warroom 2>&1 | grep -q 'not a dynamic executable' \
 && /out/warroom version \
 && mkdir -p /out/data

# Final stage: no shell, no package manager; CA certificates, tzdata and
# the nonroot user (65532) come with the image.
FROM gcr.io/distroless/static-debian12:nonroot

ARG VERSION=dev
LABEL org.opencontainers.image.title="warroom" \
      org.opencontainers.image.description="ChatOps bot for security incident response: incident channels, enrichment, playbooks, approvals and an append-only case log" \
      org.opencontainers.image.source="https://github.com/warroom-bot/warroom" \
      org.opencontainers.image.url="https://github.com/warroom-bot/warroom" \
      org.opencontainers.image.documentation="https://github.com/warroom-bot/warroom#readme" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"

COPY --from=build /out/warroom /usr/local/bin/warroom
# The SQLite database (and its -wal/-shm files) live here; mount a volume
# on it to keep incidents and the case log across container restarts.
COPY --from=build --chown=65532:65532 /out/data /var/lib/warroom
COPY examples/docker/warroom.yaml /etc/warroom/warroom.yaml

WORKDIR /var/lib/warroom
USER nonroot:nonroot
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["/usr/local/bin/warroom", "healthcheck", "--config", "/etc/warroom/warroom.yaml"]

ENTRYPOINT ["/usr/local/bin/warroom"]
CMD ["serve", "--config", "/etc/warroom/warroom.yaml"]
