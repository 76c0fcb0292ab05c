package fakeslack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"
)

// Sign computes Slack's v0 request signature for body sent at ts, returning
// the values for the X-Slack-Request-Timestamp and X-Slack-Signature
// headers. Tests use it to send requests that warroom's signature check
// (slack.NewSecretsVerifier) must accept, and to forge ones it must reject.
func Sign(secret string, ts time.Time, body []byte) (timestampHeader, signatureHeader string) {
	timestampHeader = strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + timestampHeader + ":"))
	mac.Write(body)
	return timestampHeader, "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// SignRequest sets both signature headers on req for body, which must be the
// exact bytes of req's body.
func SignRequest(req *http.Request, secret string, ts time.Time, body []byte) {
	tsh, sig := Sign(secret, ts, body)
	req.Header.Set("X-Slack-Request-Timestamp", tsh)
	req.Header.Set("X-Slack-Signature", sig)
}
