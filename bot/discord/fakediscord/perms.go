package fakediscord

import (
	"net/http"

	"github.com/bwmarrin/discordgo"
)

// PermissionPinMessages is Discord's Pin Messages permission, which pinning
// needs since February 2026 (Manage Messages no longer grants it).
const PermissionPinMessages int64 = 1 << 51

// SetBotPermissions sets what the bot's guild role grants. By default the
// bot is an administrator and nothing is checked; with a narrower set the
// fake refuses, as Discord does, with 403 Missing Permissions (50013) or
// Missing Access (50001):
//   - routes the bot lacks the permission for in the channel (computed
//     from the set, the @everyone overwrite and the bot's member
//     overwrite): Manage Channels to create, edit or delete a channel,
//     Manage Roles to set overwrites, View Channel and Send Messages to
//     post, Read Message History to list messages, Pin Messages to pin;
//   - overwrites that allow or deny a bit the bot does not hold in the
//     guild, unless it has a Manage Roles member overwrite in the channel;
//   - Manage Roles in an overwrite of a new channel, which only an
//     administrator may set.
func (s *Server) SetBotPermissions(p int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.botPerms = p
}

// allPermissions stands for an administrator's permissions.
const allPermissions int64 = -1

func (s *Server) adminLocked() bool {
	return s.botPerms&discordgo.PermissionAdministrator != 0
}

// botPermsLocked computes the bot's permissions in c (nil: in the guild)
// the way Discord does for a member whose only role is its own: the guild
// permissions, then the @everyone overwrite, then the member overwrite.
func (s *Server) botPermsLocked(c *Channel) int64 {
	if s.adminLocked() {
		return allPermissions
	}
	p := s.botPerms
	if c == nil {
		return p
	}
	for _, o := range c.Overwrites {
		if o.ID == GuildID {
			p = p&^o.Deny | o.Allow
		}
	}
	for _, o := range c.Overwrites {
		if o.ID == BotUserID && o.Type == discordgo.PermissionOverwriteTypeMember {
			p = p&^o.Deny | o.Allow
		}
	}
	return p
}

var (
	missingAccess      = &apiErr{http.StatusForbidden, 50001, "Missing Access"}
	missingPermissions = &apiErr{http.StatusForbidden, 50013, "Missing Permissions"}
)

// needLocked checks that the bot holds every bit of want in c, and can see c.
func (s *Server) needLocked(c *Channel, want int64) *apiErr {
	p := s.botPermsLocked(c)
	if c != nil && p&discordgo.PermissionViewChannel == 0 {
		return missingAccess
	}
	if p&want != want {
		return missingPermissions
	}
	return nil
}

// overwritesOKLocked applies Discord's rules for setting overwrites on c
// (nil: a channel being created). Overwrites equal to ones c already has
// are not checked: Discord validates what changes.
func (s *Server) overwritesOKLocked(c *Channel, ows []*discordgo.PermissionOverwrite) *apiErr {
	if s.adminLocked() {
		return nil
	}
	elevated := false // a Manage Roles member overwrite lifts the rules
	if c != nil {
		for _, o := range c.Overwrites {
			if o.ID == BotUserID && o.Type == discordgo.PermissionOverwriteTypeMember && o.Allow&discordgo.PermissionManageRoles != 0 {
				elevated = true
			}
		}
	}
	if elevated {
		return nil
	}
	for _, o := range ows {
		if c != nil && hasOverwrite(c, o) {
			continue
		}
		bits := o.Allow | o.Deny
		if bits&discordgo.PermissionManageRoles != 0 || bits&^s.botPerms != 0 {
			return missingPermissions
		}
	}
	return nil
}

func hasOverwrite(c *Channel, o *discordgo.PermissionOverwrite) bool {
	for _, x := range c.Overwrites {
		if x.ID == o.ID && x.Type == o.Type && x.Allow == o.Allow && x.Deny == o.Deny {
			return true
		}
	}
	return false
}
