package discord

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/warroom-bot/warroom/bot"
)

// memberTTL is how long a member's role ids are trusted. Every interaction
// brings them fresh, so the cache mostly saves the REST call when a click
// is checked against several roles; a removed role stops counting within it.
const memberTTL = time.Minute

// rolesTTL is how long the guild's role list is trusted when telling role
// ids from user ids in mentions and overwrites.
const rolesTTL = 5 * time.Minute

type memberEntry struct {
	roles []string
	at    time.Time
}

// remember caches the role ids a member showed in an interaction.
func (a *Adapter) remember(m *discordgo.Member) {
	if m == nil || m.User == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.members) > 10000 {
		for id, e := range a.members {
			if a.now().Sub(e.at) > memberTTL {
				delete(a.members, id)
			}
		}
	}
	a.members[m.User.ID] = memberEntry{roles: slices.Clone(m.Roles), at: a.now()}
}

// HasRole reports whether the guild member userID holds the Discord role
// roleID. It uses the roles that came with the member's latest interaction
// (cached for a minute) and otherwise asks GET /guilds/{guild}/members/{user}.
// The guild's id is its @everyone role, which every member holds. A user
// who is not a member holds no role.
func (a *Adapter) HasRole(ctx context.Context, userID, roleID string) (bool, error) {
	if !snowflake(userID) || !snowflake(roleID) {
		return false, nil
	}
	guild, _, err := a.state(ctx)
	if err != nil {
		return false, err
	}
	if roleID == guild {
		return true, nil
	}
	a.mu.Lock()
	e, ok := a.members[userID]
	a.mu.Unlock()
	if ok && a.now().Sub(e.at) < memberTTL {
		return slices.Contains(e.roles, roleID), nil
	}
	var m discordgo.Member
	err = a.call(ctx, http.MethodGet, discordgo.EndpointGuildMember(guild, userID), nil, &m)
	if apiCode(err) == codeUnknownMember || apiStatus(err) == http.StatusNotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("roles of member %s: %w", userID, err)
	}
	if m.User == nil {
		m.User = &discordgo.User{ID: userID}
	}
	a.remember(&m)
	return slices.Contains(m.Roles, roleID), nil
}

// HasRoleFunc returns a function for commands.Permissions.HasRole: it
// reports whether a Discord actor holds a warroom role through a Discord
// role id listed for it in roles ("lead": ["discord:123456"]). Entries
// that are user ids are matched by the permissions themselves; here they
// simply name no role the user holds. Failures count as "no" and are logged.
func (a *Adapter) HasRoleFunc(roles map[string][]string) func(ctx context.Context, actor, role string) bool {
	return func(ctx context.Context, actor, role string) bool {
		platform, user := bot.SplitActor(actor)
		if platform != "discord" {
			return false
		}
		for _, m := range roles[role] {
			p, id := bot.SplitActor(m)
			if (p != "" && p != "discord") || !snowflake(id) || id == user {
				continue
			}
			ok, err := a.HasRole(ctx, user, id)
			if err != nil {
				a.log.Warn("role check failed", "user", user, "role", id, "err", err)
				continue
			}
			if ok {
				return true
			}
		}
		return false
	}
}

// guildRoles returns the guild's role ids, cached. On failure it returns
// the last known set (possibly empty) with the error: callers that only
// render mentions carry on with it.
func (a *Adapter) guildRoles(ctx context.Context) (RoleSet, error) {
	a.mu.Lock()
	roles, at, guild := a.roles, a.rolesAt, a.guild
	a.mu.Unlock()
	if roles != nil && a.now().Sub(at) < rolesTTL {
		return roles, nil
	}
	if guild == "" {
		return roles, fmt.Errorf("guild not known yet")
	}
	var list []discordgo.Role
	if err := a.call(ctx, http.MethodGet, discordgo.EndpointGuildRoles(guild), nil, &list); err != nil {
		return roles, err
	}
	set := RoleSet{}
	for _, r := range list {
		set[r.ID] = true
	}
	a.mu.Lock()
	a.roles, a.rolesAt = set, a.now()
	a.mu.Unlock()
	return set, nil
}
