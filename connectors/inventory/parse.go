package inventory

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxErrors bounds how many problems one load reports: past that the file
// is the wrong file, and more lines would bury the first ones.
const maxErrors = 20

// parseFile parses the asset list in the format its extension or, failing
// that, its content says.
func parseFile(path string, data []byte) ([]*asset, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return parseCSV(path, data)
	case ".yaml", ".yml":
		return parseYAML(path, data)
	}
	if looksLikeYAML(data) {
		return parseYAML(path, data)
	}
	return parseCSV(path, data)
}

// looksLikeYAML reports whether the first line that is not blank or a
// comment starts a YAML list item.
func looksLikeYAML(data []byte) bool {
	for line := range strings.SplitSeq(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line == "---" {
			continue
		}
		return line[0] == '-' || line[0] == '['
	}
	return false
}

// errorList collects problems up to maxErrors.
type errorList struct {
	errs []error
	more int
}

func (l *errorList) addf(format string, args ...any) {
	if len(l.errs) == maxErrors {
		l.more++
		return
	}
	l.errs = append(l.errs, fmt.Errorf(format, args...))
}

func (l *errorList) err() error {
	if l.more > 0 {
		l.errs = append(l.errs, fmt.Errorf("and %d more problems", l.more))
	}
	return errors.Join(l.errs...)
}

// columns are the CSV columns; hostname and ip are required so that a
// file with a wrong header is not read as an empty inventory.
var columns = []string{"hostname", "ip", "owner", "team", "criticality", "os"}

func parseCSV(path string, data []byte) ([]*asset, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	head, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil // an empty inventory is valid, if useless
	}
	if err != nil {
		return nil, csvError(path, err)
	}
	hline, _ := r.FieldPos(0)
	col := make(map[string]int)
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	if _, ok := col["ips"]; ok {
		if _, ok := col["ip"]; !ok {
			col["ip"] = col["ips"]
		}
	}
	for _, c := range columns[:2] {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("%s:%d: header lacks column %q: want %s", path, hline, c, strings.Join(columns, ","))
		}
	}
	var assets []*asset
	var errs errorList
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs.addf("%w", csvError(path, err))
			break // the reader cannot resynchronise after a quote error
		}
		line, _ := r.FieldPos(0)
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		a := &asset{owner: get("owner"), team: get("team"), criticality: get("criticality"), os: get("os")}
		if !setHostname(a, get("hostname")) {
			l, c := r.FieldPos(col["hostname"])
			errs.addf("%s:%d:%d: hostname %q contains a space or a comma", path, l, c, get("hostname"))
			continue
		}
		for _, f := range splitIPs(get("ip")) {
			ip, err := parseIP(f)
			if err != nil {
				l, c := r.FieldPos(col["ip"])
				errs.addf("%s:%d:%d: ip: %w", path, l, c, err)
				continue
			}
			a.ips = append(a.ips, ip)
		}
		if a.hostname == "" && len(a.ips) == 0 {
			errs.addf("%s:%d: row has neither hostname nor ip", path, line)
			continue
		}
		assets = append(assets, a)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return assets, nil
}

func csvError(path string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d:%d: %w", path, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// yamlAsset is one list item. Ips is a node so that both a list and a
// single string ("10.0.0.1; 10.0.0.2") are accepted and each address can
// be placed at its own line.
type yamlAsset struct {
	Hostname    string    `yaml:"hostname"`
	IPs         yaml.Node `yaml:"ips"`
	IP          yaml.Node `yaml:"ip"`
	Owner       string    `yaml:"owner"`
	Team        string    `yaml:"team"`
	Criticality string    `yaml:"criticality"`
	OS          string    `yaml:"os"`
}

func parseYAML(path string, data []byte) ([]*asset, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// yaml.v3 writes "yaml: line N: ..."; keep it whole.
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d:%d: want a list of assets", path, root.Line, root.Column)
	}
	var assets []*asset
	var errs errorList
	for _, item := range root.Content {
		var y yamlAsset
		if item.Kind != yaml.MappingNode {
			errs.addf("%s:%d:%d: want an asset (hostname, ips, owner, ...)", path, item.Line, item.Column)
			continue
		}
		if err := item.Decode(&y); err != nil {
			errs.addf("%s:%d:%d: %w", path, item.Line, item.Column, err)
			continue
		}
		a := &asset{owner: strings.TrimSpace(y.Owner), team: strings.TrimSpace(y.Team),
			criticality: strings.TrimSpace(y.Criticality), os: strings.TrimSpace(y.OS)}
		if !setHostname(a, y.Hostname) {
			errs.addf("%s:%d:%d: hostname %q contains a space or a comma", path, item.Line, item.Column, y.Hostname)
			continue
		}
		for _, n := range []*yaml.Node{&y.IPs, &y.IP} {
			for _, v := range ipNodes(n) {
				if v.Kind != yaml.ScalarNode {
					errs.addf("%s:%d:%d: ips: want addresses as strings", path, v.Line, v.Column)
					continue
				}
				for _, f := range splitIPs(v.Value) {
					ip, err := parseIP(f)
					if err != nil {
						errs.addf("%s:%d:%d: ips: %w", path, v.Line, v.Column, err)
						continue
					}
					a.ips = append(a.ips, ip)
				}
			}
		}
		if a.hostname == "" && len(a.ips) == 0 {
			errs.addf("%s:%d:%d: asset has neither hostname nor ips", path, item.Line, item.Column)
			continue
		}
		assets = append(assets, a)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return assets, nil
}

// ipNodes returns the scalar nodes that hold addresses: the node itself
// for a string, its items for a list.
func ipNodes(n *yaml.Node) []*yaml.Node {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		return []*yaml.Node{n}
	case yaml.SequenceNode:
		return n.Content
	}
	return nil
}

// setHostname stores a normalised host name and reports whether it is
// plausible; an empty name is allowed (the row is known by address).
func setHostname(a *asset, h string) bool {
	h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	if strings.ContainsAny(h, " \t,;") {
		return false
	}
	a.hostname = h
	return true
}

// splitIPs splits a field holding several addresses separated by ";",
// "," or blanks.
func splitIPs(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ';' || r == ',' || r == ' ' || r == '\t' || r == '\n'
	})
}

func parseIP(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("not an IP address: %q", s)
	}
	// The zone of a link-local address only means something on the host
	// that logged it, and the ioc package drops it too.
	return a.Unmap().WithZone(""), nil
}
