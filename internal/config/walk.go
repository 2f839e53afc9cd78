package config

import (
	"fmt"
	"math"
	"strings"

	"gopkg.in/yaml.v3"
)

// walker decodes a yaml.Node tree by hand, recording every problem with its
// line and field path instead of stopping at the first.
type walker struct {
	problems
}

// field is one key a mapping may hold and how to decode its value. decode is
// not called for a null value (`key:` or `key: ~`): null means "not set".
type field struct {
	key    string
	decode func(value *yaml.Node, path string)
}

// child joins a field path and a key.
func child(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index joins a field path and a list index.
func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// usable reports whether n carries a value: it is not null, and not an alias
// (aliases are refused so that a small file cannot expand into a huge one).
func (w *walker) usable(n *yaml.Node, path string) bool {
	if n == nil {
		return false
	}
	if n.Kind == yaml.AliasNode {
		w.bad(n.Line, path, "YAML aliases (*%s) are not supported; write the value out in full", n.Value)
		return false
	}
	return !(n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names the shape of a node for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// pairs calls fn for each key and value of mapping n, refusing duplicate and
// non-scalar keys. It returns false if n is not a mapping.
func (w *walker) pairs(n *yaml.Node, path string, fn func(key, value *yaml.Node)) bool {
	if !w.usable(n, path) {
		return false
	}
	if n.Kind != yaml.MappingNode {
		w.bad(n.Line, path, "must be a mapping of key: value lines, found %s", describe(n))
		return false
	}
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			w.bad(k.Line, path, "keys must be plain words, found %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			w.add(k.Line, child(path, k.Value), fmt.Sprintf("duplicate key %q in %s (first on line %d); keep one", k.Value, label(path), first))
			continue
		}
		seen[k.Value] = k.Line
		fn(k, v)
	}
	return true
}

// mapping decodes mapping n with the given fields; any other key is an error
// that lists the known ones. It returns false if n is not a mapping.
func (w *walker) mapping(n *yaml.Node, path string, fields []field) bool {
	return w.pairs(n, path, func(k, v *yaml.Node) {
		for _, f := range fields {
			if f.key == k.Value {
				if w.usable(v, child(path, k.Value)) {
					f.decode(v, child(path, k.Value))
				}
				return
			}
		}
		known := make([]string, len(fields))
		for i, f := range fields {
			known[i] = f.key
		}
		where := "in " + path
		if path == "" {
			where = "at the top level"
		}
		msg := fmt.Sprintf("unknown key %q %s", k.Value, where)
		if s := closest(k.Value, known); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		w.add(k.Line, child(path, k.Value), msg+"; known keys: "+strings.Join(known, ", "))
	})
}

// sequence calls fn for each item of list n.
func (w *walker) sequence(n *yaml.Node, path string, fn func(item *yaml.Node, path string)) {
	if n.Kind != yaml.SequenceNode {
		w.bad(n.Line, path, "must be a list such as [a, b] or lines starting with \"- \", found %s", describe(n))
		return
	}
	for i, item := range n.Content {
		p := index(path, i)
		if w.usable(item, p) {
			fn(item, p)
		}
	}
}

// scalar returns the text of a single value, refusing lists and mappings.
func (w *walker) scalar(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		w.bad(n.Line, path, "must be a single value, found %s", describe(n))
		return "", false
	}
	return n.Value, true
}

// integer decodes a whole number in [lo, hi].
func (w *walker) integer(n *yaml.Node, path string, lo, hi int64) (int64, bool) {
	s, ok := w.scalar(n, path)
	if !ok {
		return 0, false
	}
	var v int64
	if n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		w.badValue(n.Line, path, s, "must be a whole number from %d to %d", lo, hi)
		return 0, false
	}
	if v < lo || v > hi {
		w.badValue(n.Line, path, s, "out of range; use a number from %d to %d", lo, hi)
		return 0, false
	}
	return v, true
}

// intField decodes a whole number in [lo, hi] into dst.
func intField[T int | uint32](w *walker, dst *T, lo, hi int64) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		if v, ok := w.integer(n, path, lo, hi); ok {
			*dst = T(v)
		}
	}
}

// textField decodes a string into dst after check, which returns "" for a
// good value or the problem and its fix.
func textField(w *walker, dst *string, check func(string) string) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		s, ok := w.scalar(n, path)
		if !ok {
			return
		}
		if msg := check(s); msg != "" {
			w.badValue(n.Line, path, s, "%s", msg)
			return
		}
		*dst = s
	}
}

// choiceField decodes one of the allowed words into dst.
func choiceField[T ~string](w *walker, dst *T, allowed ...T) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		s, ok := w.scalar(n, path)
		if !ok {
			return
		}
		words := make([]string, len(allowed))
		for i, a := range allowed {
			if string(a) == s {
				*dst = a
				return
			}
			words[i] = string(a)
		}
		w.badValue(n.Line, path, s, "must be one of %s", strings.Join(words, ", "))
	}
}

// durationField decodes a Duration in [lo, hi] into dst; whole demands whole
// seconds (for values sent to clients in seconds).
func durationField(w *walker, dst *Duration, lo, hi Duration, whole bool) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		s, ok := w.scalar(n, path)
		if !ok {
			return
		}
		d, err := parseDuration(s)
		switch {
		case err != nil:
			w.badValue(n.Line, path, s, "%v", err)
		case d < lo || d > hi:
			w.badValue(n.Line, path, s, "out of range; use a duration from %s to %s", lo, hi)
		case whole && d%Duration(1e9) != 0:
			w.badValue(n.Line, path, s, "must be whole seconds (it is sent to clients in seconds); write e.g. %s", (d - d%Duration(1e9)).String())
		default:
			*dst = d
		}
	}
}

// closest returns the candidate nearest to word if it is near enough to be a
// likely typo, else "".
func closest(word string, candidates []string) string {
	best, bestDist := "", math.MaxInt
	for _, c := range candidates {
		if d := editDistance(word, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist <= 2 || (bestDist <= 3 && len(word) > 8) {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
