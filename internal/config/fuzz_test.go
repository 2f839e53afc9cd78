package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics, and that it returns either a
// config or problems that are all *Error values with a line number that
// exists in the input.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(""))
	f.Add([]byte("server: {interfaces: [eth1]}\nscopes:\n  - subnet: 192.0.2.0/31\n    pools: [192.0.2.0-192.0.2.1]\n    options: {\"224\": [192.0.2.1], domain-search: [a.b, c.a.b], classless-static-routes: [\"0.0.0.0/0 via 192.0.2.1\"]}\n"))
	f.Add([]byte("a: &x [1]\nb: *x\n"))
	f.Add([]byte("server:\n\tinterfaces: [eth1\n"))
	if examples, _ := filepath.Glob(filepath.Join("..", "..", "docs", "examples", "*.yaml")); len(examples) > 0 {
		for _, path := range examples {
			if data, err := os.ReadFile(path); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v; want exactly one", cfg != nil, err)
		}
		if err == nil {
			return
		}
		// An upper bound on the lines YAML sees: it also breaks lines at
		// a lone \r and at U+0085, U+2028 and U+2029.
		lines := 1 + bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) +
			bytes.Count(data, []byte("\u0085")) + bytes.Count(data, []byte("\u2028")) + bytes.Count(data, []byte("\u2029"))
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v holds no *Error", err)
		}
		if e.Line < 0 || e.Line > lines+1 {
			t.Fatalf("error names line %d of a %d-line input: %v", e.Line, lines, err)
		}
	})
}
