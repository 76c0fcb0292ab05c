package main

import (
	"context"
	"log/slog"

	"github.com/warroom-bot/warroom/bot"
	discordbot "github.com/warroom-bot/warroom/bot/discord"
	"github.com/warroom-bot/warroom/config"
)

// newDiscord builds the Discord adapter from the discord block. Private
// incident channels admit the leads' Discord ids besides the invitees.
func newDiscord(cfg *config.Config, h bot.Handler, log *slog.Logger) (*discordbot.Adapter, error) {
	var leads []string
	for _, m := range cfg.Roles["lead"] {
		if p, id := bot.SplitActor(m); p == "discord" {
			leads = append(leads, id)
		}
	}
	d := cfg.Discord
	return discordbot.New(discordbot.Config{
		BotToken: d.BotToken.Reveal(), ApplicationID: d.ApplicationID, PublicKey: d.PublicKey, GuildID: d.GuildID,
		APIURL: d.APIURL, Transport: d.Transport, IncidentCategory: d.IncidentCategory,
		ArchiveCategory: d.ArchiveCategory, OnClose: d.OnClose, PrivateAccess: leads,
		Handler: h, Logger: log,
	})
}

// hasRole answers role memberships the platforms know themselves: local
// accounts' configured roles and API tokens' (the web room), and Discord
// members' role ids.
func (a *app) hasRole() func(ctx context.Context, actor, role string) bool {
	var discord func(ctx context.Context, actor, role string) bool
	if a.discord != nil {
		discord = a.discord.HasRoleFunc(a.cfg.Roles)
	}
	return func(ctx context.Context, actor, role string) bool {
		if a.web != nil && a.web.hasRole(ctx, actor, role) {
			return true
		}
		return discord != nil && discord(ctx, actor, role)
	}
}
