package config

import (
	"strings"
)

// lineIndex knows on which line each table and key of the file is set.
// BurntSushi/toml keeps key positions to itself, so the file is scanned
// here: table headers, and `key = …` lines (dotted and quoted keys too)
// outside multi-line strings. Keys it cannot place (inside inline tables)
// get the line of the nearest enclosing table or key it can.
type lineIndex map[string]int

func (li lineIndex) find(path []string) int {
	for n := len(path); n > 0; n-- {
		if l, ok := li[strings.Join(path[:n], "\x00")]; ok {
			return l
		}
	}
	return 0
}

func (li lineIndex) add(path []string, line int) {
	for n := 1; n <= len(path); n++ {
		k := strings.Join(path[:n], "\x00")
		if _, ok := li[k]; !ok {
			li[k] = line
		}
	}
}

func keyLines(text string) lineIndex {
	li := lineIndex{}
	var table []string
	inMulti := "" // the delimiter of the multi-line string we are in
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		if inMulti != "" {
			if strings.Count(line, inMulti)%2 == 1 {
				inMulti = ""
			}
			continue
		}
		s := strings.TrimSpace(line)
		switch {
		case s == "" || s[0] == '#':
			continue
		case strings.HasPrefix(s, "["):
			inner := strings.TrimLeft(s, "[")
			if path, rest, ok := parseKey(inner); ok && strings.HasPrefix(rest, "]") {
				table = path
				li.add(table, n)
			}
			continue
		}
		path, rest, ok := parseKey(s)
		if !ok || !strings.HasPrefix(rest, "=") {
			continue
		}
		full := append(append([]string{}, table...), path...)
		li.add(full, n)
		for _, d := range []string{`"""`, "'''"} {
			if strings.Count(rest, d)%2 == 1 {
				inMulti = d
			}
		}
	}
	return li
}

// parseKey reads a (dotted, possibly quoted) TOML key at the start of s and
// returns its parts and what follows it, trimmed.
func parseKey(s string) (parts []string, rest string, ok bool) {
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil, "", false
		}
		var part string
		switch s[0] {
		case '"', '\'':
			end := strings.IndexByte(s[1:], s[0])
			if end < 0 {
				return nil, "", false
			}
			part, s = s[1:1+end], s[2+end:]
		default:
			end := 0
			for end < len(s) && isBare(s[end]) {
				end++
			}
			if end == 0 {
				return nil, "", false
			}
			part, s = s[:end], s[end:]
		}
		parts = append(parts, part)
		s = strings.TrimLeft(s, " \t")
		if !strings.HasPrefix(s, ".") {
			return parts, s, true
		}
		s = s[1:]
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}
