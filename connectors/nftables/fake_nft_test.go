package nftables_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// The tests run nft for real, through exec.run, and nft is this test
// binary under a symbolic link named nft: TestMain sees the name and acts
// as nft over a ruleset kept in a file beside the link. exec.run passes no
// environment on, so the directory of the link is where the state lives.

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "nft" {
		// syscall.Exit, not os.Exit: under -race os.Exit waits for late
		// race reports, and every test runs nft.
		syscall.Exit(fakeNft(filepath.Dir(os.Args[0]), os.Args[1:]))
	}
	os.Exit(m.Run())
}

// ruleset is the fake's state: sets by "family table name".
type ruleset struct {
	Sets map[string]*set `json:"sets"`
}

type set struct {
	Type     string            `json:"type"` // ipv4_addr or ipv6_addr
	Flags    []string          `json:"flags"`
	Elements map[string]string `json:"elements"` // element → timeout ("" for none)
}

// fakeNft acts as nft for add element, delete element and list set, with
// nft's error texts, and logs each command line it gets.
func fakeNft(dir string, args []string) int {
	statePath := filepath.Join(dir, "ruleset.json")
	logf, err := os.OpenFile(filepath.Join(dir, "calls.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	json.NewEncoder(logf).Encode(args)
	logf.Close()

	var rs ruleset
	raw, err := os.ReadFile(statePath)
	if err != nil || json.Unmarshal(raw, &rs) != nil {
		fmt.Fprintln(os.Stderr, "fake nft: no ruleset")
		return 2
	}
	line := strings.Join(args, " ")
	fail := func(msg string) int {
		fmt.Fprintf(os.Stderr, "Error: %s\n%s\n", msg, line)
		return 1
	}
	// nft reads its arguments as one line of its language.
	tok := strings.Fields(strings.NewReplacer("{", " { ", "}", " } ", ",", " , ").Replace(line))
	if len(tok) < 5 {
		return fail("syntax error, unexpected end of file")
	}
	verb, object, key := tok[0], tok[1], strings.Join(tok[2:5], " ")
	s := rs.Sets[key]
	switch {
	case verb == "list" && object == "set" && len(tok) == 5:
		if s == nil {
			return fail("No such file or directory")
		}
		fmt.Printf("table %s %s {\n\tset %s {\n\t\ttype %s\n\t}\n}\n", tok[2], tok[3], tok[4], s.Type)
		return 0
	case (verb == "add" || verb == "delete") && object == "element":
	default:
		return fail("syntax error, unexpected " + verb)
	}
	if s == nil {
		return fail("No such file or directory; did you mean table ‘filter’ in family inet?")
	}
	if len(tok) < 8 || tok[5] != "{" || tok[len(tok)-1] != "}" {
		return fail("syntax error, unexpected newline, expecting '{'")
	}
	for _, e := range splitElements(tok[6 : len(tok)-1]) {
		if len(e) != 1 && (len(e) != 3 || e[1] != "timeout" || verb != "add") {
			return fail("syntax error, unexpected string")
		}
		p, err := netip.ParsePrefix(e[0])
		if err != nil {
			a, aerr := netip.ParseAddr(e[0])
			if aerr != nil {
				return fail(fmt.Sprintf("Could not resolve hostname: %s", e[0]))
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if (s.Type == "ipv4_addr") != p.Addr().Is4() {
			want, got := "IPv4 address", "IPv6 address"
			if s.Type == "ipv6_addr" {
				want, got = got, want
			}
			return fail(fmt.Sprintf("datatype mismatch, expected %s, expression has type %s", want, got))
		}
		if !p.IsSingleIP() && !slices.Contains(s.Flags, "interval") {
			return fail("You must add 'flags interval' to your set declaration if you want to add prefix elements")
		}
		if len(e) == 3 && !slices.Contains(s.Flags, "timeout") {
			return fail("Could not process rule: Operation not supported")
		}
		switch _, there := s.Elements[e[0]]; {
		case verb == "delete" && !there:
			return fail("Could not process rule: No such file or directory")
		case verb == "delete":
			delete(s.Elements, e[0])
		case !there: // add keeps an element that is there
			timeout := ""
			if len(e) == 3 {
				timeout = e[2]
			}
			s.Elements[e[0]] = timeout
		}
	}
	out, _ := json.Marshal(rs)
	if err := os.WriteFile(statePath, out, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

func splitElements(tok []string) [][]string {
	var out [][]string
	var cur []string
	for _, t := range tok {
		if t == "," {
			out = append(out, cur)
			cur = nil
			continue
		}
		cur = append(cur, t)
	}
	return append(out, cur)
}
