// Package nftables holds the actions nftables.block_ip and
// nftables.unblock_ip, the firewall of a Linux host without an API: they
// add an address to, and delete it from, a named set of the nftables
// ruleset, which a rule such as
//
//	ip saddr @blocklist drop
//
// refers to. They run nft through the exec.run action, so nft must be
// listed in exec.allow and runs as exec.run runs everything: without a
// shell, with a minimal environment and a timeout.
//
// nft reads its arguments as one line of its own command language, so the
// address is parsed and written back in canonical form before it reaches
// nft (connectors.BlockTarget), and table and set names are checked to be
// plain identifiers: "203.0.113.7 }; flush ruleset" never gets that far.
// An IPv4 address goes to Config.Set and an IPv6 one to Config.Set6,
// because an nftables set holds addresses of one family.
//
// Both actions are idempotent: nft add element leaves an element that is
// there already as it is, and unblocking an address the set does not hold
// succeeds (after nft list set confirms that the set itself exists).
package nftables

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/connectors"
)

// Defaults of Config.
const (
	DefaultProgram = "nft"
	DefaultFamily  = "inet"
	DefaultTable   = "filter"
	DefaultSet     = "blocklist"
	DefaultSet6    = "blocklist6"
	DefaultTimeout = 10 * time.Second
)

// Config configures the connector. Only Exec is required.
type Config struct {
	// Exec is the exec.run action nft is run through.
	Exec connectors.Action
	// Program is nft as exec.allow lists it: a name on PATH or an
	// absolute path; empty means DefaultProgram.
	Program string
	// Family and Table name the table holding the sets; empty means inet
	// and filter.
	Family, Table string
	// Set takes IPv4 addresses and Set6 IPv6 ones; empty means blocklist
	// and blocklist6. A set of type ipv4_addr (or ipv6_addr) needs flags
	// interval to take networks and flags timeout to take a timeout.
	Set, Set6 string
	// Timeout bounds one run of nft; zero means DefaultTimeout.
	Timeout time.Duration
}

// Connector runs nft against one table. It is safe for concurrent use.
type Connector struct {
	c Config
}

// families are the nftables address families whose tables hold sets of
// addresses.
var families = map[string]bool{"ip": true, "ip6": true, "inet": true, "bridge": true, "netdev": true}

// nameRE is a table or set name warroom passes to nft: an identifier, so
// that it cannot end the command it sits in.
var nameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)

// New checks c, fills in the defaults and returns a connector. It runs
// nothing.
func New(c Config) (*Connector, error) {
	if c.Exec == nil {
		return nil, errors.New("nftables: no exec.run action to run nft with")
	}
	c.Program = strings.TrimSpace(c.Program)
	if c.Program == "" {
		c.Program = DefaultProgram
	}
	if c.Family == "" {
		c.Family = DefaultFamily
	}
	if c.Table == "" {
		c.Table = DefaultTable
	}
	if c.Set == "" {
		c.Set = DefaultSet
	}
	if c.Set6 == "" {
		c.Set6 = DefaultSet6
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	var problems []error
	if !families[c.Family] {
		problems = append(problems, fmt.Errorf("nftables: family %q: use ip, ip6, inet, bridge or netdev", c.Family))
	}
	for _, n := range []struct{ what, v string }{{"table", c.Table}, {"set", c.Set}, {"set6", c.Set6}} {
		if !nameRE.MatchString(n.v) {
			problems = append(problems, fmt.Errorf("nftables: %s %q is not an nftables name (a letter, then letters, digits and _)", n.what, n.v))
		}
	}
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	return &Connector{c: c}, nil
}

// Program is the program the connector runs, which exec.allow must list.
func (c *Connector) Program() string { return c.c.Program }

// Actions returns nftables.block_ip and nftables.unblock_ip.
func (c *Connector) Actions() []connectors.Action {
	return []connectors.Action{&setAction{c: c, block: true}, &setAction{c: c}}
}

// setAction is nftables.block_ip (block) or nftables.unblock_ip.
type setAction struct {
	c     *Connector
	block bool
}

// Spec declares the action's inputs and outputs.
func (a *setAction) Spec() connectors.Spec {
	s := connectors.Spec{
		Name: "nftables.unblock_ip",
		Doc:  "Unblock an address or network by deleting it from an nftables set with nft (through exec.run).",
		Inputs: []connectors.Field{
			{Name: "ip", Type: connectors.String, Required: true, Doc: "IPv4 or IPv6 address, or network in CIDR notation."},
			{Name: "set", Type: connectors.String, Doc: "Set to change; empty means the configured one for the address's family."},
		},
		Outputs: []connectors.Field{
			{Name: "ip", Type: connectors.String, Doc: "The address or network, in canonical form."},
			{Name: "set", Type: connectors.String, Doc: "The set changed, as family table set."},
			{Name: "changed", Type: connectors.Bool, Doc: "False when an unblocked address was not in the set."},
		},
		// nft add element keeps an element that is there, and a missing
		// one is not an error for unblock_ip.
		Idempotent: true,
	}
	if !a.block {
		return s
	}
	s.Name = "nftables.block_ip"
	s.Doc = "Block an address or network by adding it to an nftables set with nft (through exec.run). " +
		"Private, loopback and link-local ranges are refused unless allow_private is true."
	s.Destructive = true
	s.Inputs = append(s.Inputs,
		connectors.Field{Name: "timeout", Type: connectors.Duration, Doc: "How long the element stays in the set (the set needs flags timeout); empty means until deleted."},
		connectors.AllowPrivateInput)
	return s
}

// Run checks the inputs and runs nft.
func (a *setAction) Run(ctx context.Context, call connectors.Call) (map[string]any, error) {
	p, err := connectors.BlockTarget(call.With, a.block)
	if err != nil {
		return nil, err
	}
	set, err := a.set(call.With, p.Addr())
	if err != nil {
		return nil, err
	}
	elem := connectors.FormatNetwork(p)
	if a.block {
		if t, err := elementTimeout(call.With); err != nil {
			return nil, err
		} else if t != "" {
			elem += " timeout " + t
		}
	}
	c := a.c.c
	where := c.Family + " " + c.Table + " " + set
	out := map[string]any{"ip": connectors.FormatNetwork(p), "set": where, "changed": true}
	verb := "delete"
	if a.block {
		verb = "add"
	}
	err = a.c.nft(ctx, verb, "element", c.Family, c.Table, set, "{ "+elem+" }")
	switch {
	case err == nil:
		return out, nil
	case !a.block && strings.Contains(err.Error(), "No such file or directory"):
		// Either the address is not in the set (done already) or the set
		// is missing (a real failure): nft says the same for both.
		if lerr := a.c.nft(ctx, "list", "set", c.Family, c.Table, set); lerr != nil {
			return nil, fmt.Errorf("delete %s from set %s: %w", out["ip"], where, lerr)
		}
		out["changed"] = false
		return out, nil
	}
	if a.block {
		return nil, fmt.Errorf("add %s to set %s: %w", out["ip"], where, err)
	}
	return nil, fmt.Errorf("delete %s from set %s: %w", out["ip"], where, err)
}

// set returns the set to change for an address of addr's family.
func (a *setAction) set(with map[string]any, addr netip.Addr) (string, error) {
	c := a.c.c
	if (c.Family == "ip" && !addr.Is4()) || (c.Family == "ip6" && !addr.Is6()) {
		return "", fmt.Errorf("with.ip: %s does not fit the %s table %s", addr, c.Family, c.Table)
	}
	set, err := connectors.Text(with, "set")
	if err != nil {
		return "", err
	}
	switch {
	case set != "" && !nameRE.MatchString(set):
		return "", fmt.Errorf("with.set: %q is not an nftables name (a letter, then letters, digits and _)", set)
	case set != "":
		return set, nil
	case addr.Is4():
		return c.Set, nil
	}
	return c.Set6, nil
}

// nft runs the program with args through exec.run.
func (c *Connector) nft(ctx context.Context, args ...string) error {
	argv := []any{c.c.Program}
	for _, a := range args {
		argv = append(argv, a)
	}
	_, err := c.c.Exec.Run(ctx, connectors.Call{With: map[string]any{"argv": argv, "timeout": c.c.Timeout.String()}})
	return err
}

// elementTimeout reads the timeout input and spells it as nft does
// ("1d12h", "30m"); "" when there is none.
func elementTimeout(with map[string]any) (string, error) {
	v, ok := with["timeout"]
	if !ok || v == nil || v == "" {
		return "", nil
	}
	d, err := connectors.ToDuration(v)
	if err != nil {
		return "", fmt.Errorf("with.timeout: %w", err)
	}
	if d < time.Second {
		return "", fmt.Errorf("with.timeout: %s is shorter than the second nft counts in", d)
	}
	return nftDuration(d), nil
}

// nftDuration writes d in nft's time syntax: days, hours, minutes and
// seconds, leaving out the zero ones (nft reads "24h", not "24h0m0s").
func nftDuration(d time.Duration) string {
	s := int64(d / time.Second)
	var b strings.Builder
	for _, u := range []struct {
		unit string
		secs int64
	}{{"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}} {
		if n := s / u.secs; n > 0 {
			b.WriteString(strconv.FormatInt(n, 10) + u.unit)
			s -= n * u.secs
		}
	}
	return b.String()
}
