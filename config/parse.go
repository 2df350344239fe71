package config

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/jt-sh/jt/validate"
	"github.com/jt-sh/jt/visible"
)

// parser is one parse of a file: the File it fills, the decoded TOML and
// the line of each key.
type parser struct {
	f     *File
	raw   map[string]any
	lines lineIndex
}

func parse(f *File, text string) error {
	var raw map[string]any
	md, err := toml.Decode(text, &raw)
	if err != nil {
		return syntaxError(f.Path, text, err)
	}
	p := &parser{f: f, raw: raw, lines: keyLines(text)}
	// Keys in file order, so the first mistake in the file is the one reported.
	for _, k := range md.Keys() {
		if err := p.key(k); err != nil {
			return err
		}
	}
	sort.Strings(f.Names)
	p.placeValues()
	sort.Strings(f.Notices)
	return nil
}

// syntaxError is a TOML decoding error, at its line when it has one.
func syntaxError(path, text string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		line := pe.Position.Line
		if s := pe.Position.Start; s >= 0 && s < len(text) {
			// An unexpected end of line belongs to the line it ends.
			line = strings.Count(text[:s], "\n") + 1
		}
		return &Error{Path: path, Line: line, Msg: "TOML syntax error: " + pe.Message}
	}
	return &Error{Path: path, Msg: "TOML syntax error: " + err.Error()}
}

// fail is a mistake at the line of the key at path.
func (p *parser) fail(path []string, format string, a ...any) error {
	return &Error{Path: p.f.Path, Line: p.lines.find(path), Msg: fmt.Sprintf(format, a...)}
}

// failAt is fail for key k, in the form setKey takes.
func (p *parser) failAt(k toml.Key) func(string, ...any) error {
	return func(format string, a ...any) error {
		return p.fail(k, format, a...)
	}
}

// key reads one key of the file: a table, or a setting in one.
func (p *parser) key(k toml.Key) error {
	switch {
	case len(k) == 1:
		switch k[0] {
		case "defaults", "hosts":
			if _, ok := p.raw[k[0]].(map[string]any); !ok {
				return p.fail(k, "%q must be a table ([%s])", k[0], k[0])
			}
		default:
			return p.fail(k, "unknown key %q at the top level%s; jt's config has [defaults] and [hosts.NAME] tables", k[0], validate.Suggest(k[0], []string{"defaults", "hosts"}))
		}
	case k[0] == "defaults" && len(k) == 2:
		return setKey(p.f.Defaults, "[defaults]", false, k[1], p.raw["defaults"].(map[string]any)[k[1]], p.failAt(k))
	case k[0] == "hosts" && len(k) == 2:
		return p.addProfile(k)
	case k[0] == "hosts" && len(k) == 3:
		// A dotted key (hosts.gpu.port = 1) may come without its table.
		if err := p.addProfile(k[:2]); err != nil {
			return err
		}
		table := p.raw["hosts"].(map[string]any)[k[1]].(map[string]any)
		return setKey(p.f.Profiles[k[1]], "[hosts."+k[1]+"]", true, k[2], table[k[2]], p.failAt(k))
	default:
		// Deeper keys: a table inside a setting, which no key takes.
		parent := k[:len(k)-1]
		return p.fail(k, "unknown key %q in [%s]", k[len(k)-1], strings.Join(parent, "."))
	}
	return nil
}

// addProfile adds the profile [hosts.NAME] of k, once.
func (p *parser) addProfile(k toml.Key) error {
	name := k[1]
	if _, ok := p.f.Profiles[name]; ok {
		return nil
	}
	if !validate.IsName(name) {
		return p.fail(k, "profile name %s is not valid: use 1-64 letters, digits, '.', '_' or '-', not starting with '.' or '-'", visible.Quote(name))
	}
	if _, ok := p.raw["hosts"].(map[string]any)[name].(map[string]any); !ok {
		return p.fail(k, "hosts.%s must be a table ([hosts.%s])", name, name)
	}
	p.f.Profiles[name] = Table{}
	p.f.Names = append(p.f.Names, name)
	return nil
}

// placeValues remembers where each value was set, for jt config show.
func (p *parser) placeValues() {
	for name, v := range p.f.Defaults {
		v.Line = p.line("defaults", name)
		p.f.Defaults[name] = v
	}
	for _, name := range p.f.Names {
		t := p.f.Profiles[name]
		for _, k := range Keys {
			if v, ok := t[k.Name]; ok {
				v.Line = p.line("hosts", name, k.Name)
				t[k.Name] = v
			}
		}
	}
}

// line is where the key at path was set; a key written under its old name
// is found there, with a notice.
func (p *parser) line(path ...string) int {
	if l, ok := p.lines[strings.Join(path, "\x00")]; ok {
		return l
	}
	for old, n := range Renamed {
		if n == path[len(path)-1] {
			oldPath := append(slices.Clone(path[:len(path)-1]), old)
			if l, ok := p.lines[strings.Join(oldPath, "\x00")]; ok {
				p.f.Notices = append(p.f.Notices, fmt.Sprintf("%s:%d: key %q is now called %q; the old name still works", Display(p.f.Path), l, old, n))
				return l
			}
		}
	}
	return p.lines.find(path)
}
