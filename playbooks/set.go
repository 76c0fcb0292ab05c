package playbooks

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Set is a loaded playbook directory: every playbook by name, by command
// word and by the alerts it starts on. It is immutable, so the server can
// swap in a new Set on reload while runs keep the playbooks they started
// with.
type Set struct {
	all       []*Playbook
	byName    map[string]*Playbook
	byCommand map[string]*Playbook
}

// Load reads every *.yaml and *.yml file in dir (not its subdirectories;
// hidden files are skipped), or only dir itself if it is a file. It returns
// the set, or nil and every problem in every file, sorted: the server must
// refuse to start on a broken directory rather than run half of it, and
// `warroom playbook validate` prints the lot.
func Load(dir string, opts Options) (*Set, Diagnostics) {
	files, diag := playbookFiles(dir)
	if diag != nil {
		return nil, Diagnostics{*diag}
	}
	var loaders []*loader
	var diags Diagnostics
	for _, f := range files {
		data, err := readLimited(f)
		if err != nil {
			diags = append(diags, Diagnostic{File: f, Msg: err.Error()})
			continue
		}
		loaders = append(loaders, parse(f, data, opts))
	}
	set, more := newSet(loaders)
	diags = append(diags, more...)
	if len(diags) > 0 {
		return nil, diags.sorted()
	}
	return set, nil
}

// NewSet checks playbooks parsed one by one (see [Parse]) against each
// other, for names and command words used twice, and returns them as a
// Set. `warroom playbook validate a.yaml b.yaml` uses it to check files
// given separately as the directory they will live in.
func NewSet(pbs ...*Playbook) (*Set, Diagnostics) {
	loaders := make([]*loader, 0, len(pbs))
	for _, pb := range pbs {
		if pb == nil {
			continue
		}
		loaders = append(loaders, &loader{file: pb.File, pb: pb})
	}
	set, diags := newSet(loaders)
	if len(diags) > 0 {
		return nil, diags.sorted()
	}
	return set, nil
}

// newSet gathers the loaders' playbooks and diagnostics and adds the checks
// across files. A playbook that failed keeps its name and command in the
// checks, so fixing one file does not reveal a new clash.
func newSet(loaders []*loader) (*Set, Diagnostics) {
	s := &Set{byName: map[string]*Playbook{}, byCommand: map[string]*Playbook{}}
	var diags Diagnostics
	names := map[string]*loader{}
	commands := map[string]*loader{}
	for _, l := range loaders {
		diags = append(diags, l.diags...)
		pb := l.pb
		if pb.Name != "" {
			if first, dup := names[pb.Name]; dup {
				diags = append(diags, Diagnostic{File: l.file, Line: pb.namePos.Line, Col: pb.namePos.Col, Path: "name",
					Msg: fmt.Sprintf("playbook %q is also defined in %s", pb.Name, first.pb.namePos)})
			} else {
				names[pb.Name] = l
			}
		}
		if w := pb.On.Command; w != "" {
			if first, dup := commands[w]; dup {
				diags = append(diags, Diagnostic{File: l.file, Line: pb.commandPos.Line, Col: pb.commandPos.Col, Path: "on.command",
					Msg: fmt.Sprintf("/%s is also the command of playbook %q (%s)", w, first.pb.Name, first.pb.commandPos)})
			} else {
				commands[w] = l
			}
		}
		if len(l.diags) == 0 {
			s.all = append(s.all, pb)
		}
	}
	slices.SortFunc(s.all, func(a, b *Playbook) int { return strings.Compare(a.Name, b.Name) })
	for _, pb := range s.all {
		if _, dup := s.byName[pb.Name]; !dup {
			s.byName[pb.Name] = pb
		}
		if w := pb.On.Command; w != "" {
			if _, dup := s.byCommand[w]; !dup {
				s.byCommand[w] = pb
			}
		}
	}
	return s, diags
}

// playbookFiles lists the playbook files under path.
func playbookFiles(path string) ([]string, *Diagnostic) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, &Diagnostic{File: path, Msg: fmt.Sprintf("cannot read playbooks: %v", unwrapPath(err))}
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, &Diagnostic{File: path, Msg: fmt.Sprintf("cannot read playbooks: %v", unwrapPath(err))}
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		if ext := filepath.Ext(name); ext == ".yaml" || ext == ".yml" {
			files = append(files, filepath.Join(path, name))
		}
	}
	return files, nil
}

// unwrapPath drops the path from an fs.PathError: the diagnostic already
// names the file.
func unwrapPath(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// readLimited reads a file, refusing files over MaxFileSize before reading
// them whole.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", unwrapPath(err))
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", unwrapPath(err))
	}
	if info.Size() > MaxFileSize {
		return nil, fmt.Errorf("the file is too large (%d bytes, the limit is %d)", info.Size(), MaxFileSize)
	}
	data := make([]byte, 0, info.Size()+1)
	buf := make([]byte, 32<<10)
	for {
		n, err := f.Read(buf)
		data = append(data, buf[:n]...)
		if len(data) > MaxFileSize {
			return nil, fmt.Errorf("the file is too large (over %d bytes)", MaxFileSize)
		}
		if err != nil {
			break
		}
	}
	return data, nil
}

// All returns the playbooks sorted by name. The slice is a copy.
func (s *Set) All() []*Playbook { return slices.Clone(s.all) }

// ByName returns the playbook called name, for /playbook run NAME.
func (s *Set) ByName(name string) (*Playbook, bool) {
	pb, ok := s.byName[name]
	return pb, ok
}

// ByCommand returns the playbook whose on.command is word, without the
// slash, for routing /contain and the like.
func (s *Set) ByCommand(word string) (*Playbook, bool) {
	pb, ok := s.byCommand[strings.TrimPrefix(word, "/")]
	return pb, ok
}

// Commands lists the command words the set's playbooks take, sorted, so
// the router can register them all at start.
func (s *Set) Commands() []string {
	out := make([]string, 0, len(s.byCommand))
	for w := range s.byCommand {
		out = append(out, w)
	}
	slices.Sort(out)
	return out
}

// MatchAlert returns the playbooks that start on an alert with this
// source, normalised severity and labels, sorted by name.
func (s *Set) MatchAlert(source, severity string, labels map[string]string) []*Playbook {
	var out []*Playbook
	for _, pb := range s.all {
		if pb.On.Alert != nil && pb.On.Alert.Matches(source, severity, labels) {
			out = append(out, pb)
		}
	}
	return out
}

// Matches reports whether an alert matches m.
func (m *AlertMatch) Matches(source, severity string, labels map[string]string) bool {
	if len(m.Sources) > 0 && !slices.ContainsFunc(m.Sources, func(want string) bool {
		if want == source {
			return true
		}
		parent, _, sub := strings.Cut(source, "/")
		return sub && !strings.Contains(want, "/") && want == parent
	}) {
		return false
	}
	if len(m.Severities) > 0 && !slices.Contains(m.Severities, severity) {
		return false
	}
	for k, v := range m.Labels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
