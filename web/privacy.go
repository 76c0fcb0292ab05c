package web

import (
	"net/http"

	"github.com/warroom-bot/warroom/store"
)

// privateRole is the role that sees every private incident in the web room
// and the API, as leads are admitted to every private incident channel.
const privateRole = "lead"

// canSee reports whether an identity may see an incident. A private
// incident's chat channels admit only the people invited, and the web room
// keeps that promise: it shows a private incident only to whoever opened
// it, its commander, and holders of privateRole (or of every role). To
// everyone else it does not exist.
func canSee(id Identity, in store.Incident) bool {
	if !in.Private {
		return true
	}
	if seesAll(id) {
		return true
	}
	actor := id.Actor()
	return actor == in.CreatedBy || (in.Commander != "" && actor == in.Commander)
}

// seesAll reports whether an identity sees every private incident.
func seesAll(id Identity) bool { return id.Role == AllRoles || id.Role == privateRole }

// CanSee reports whether the request's identity (a session or a token,
// after API or page authentication) may see the incident.
func (s *Server) CanSee(r *http.Request, in store.Incident) bool {
	return canSee(identityOf(r), in)
}
