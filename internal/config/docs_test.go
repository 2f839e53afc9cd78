package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestConfigDocOptionTable keeps docs/CONFIG.md's named-option table in step
// with the parser: every row's example parses to the row's code, and every
// option the file can name has a row.
func TestConfigDocOptionTable(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "CONFIG.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| (\\d+) \\| `([a-z0-9-]+)` \\| (?:[^|\\\\]|\\\\.)+ \\| `([^`]+)` \\|$")
	documented := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		code, _ := strconv.Atoi(m[1])
		name, example := m[2], m[3]
		documented[name] = true
		t.Run(name, func(t *testing.T) {
			def, ok := optionByName(name)
			if !ok || int(def.code) != code {
				t.Fatalf("CONFIG.md lists %s as option %d; the table says %v", name, code, def)
			}
			cfg, err := Parse([]byte(minimal + "    options:\n      " + name + ": " + example + "\n"))
			if err != nil {
				t.Fatalf("the documented example does not parse: %v", err)
			}
			if _, ok := cfg.Scopes[0].Options[uint8(code)]; !ok {
				t.Errorf("the documented example did not set option %d", code)
			}
		})
	}
	for _, name := range optionNames() {
		if !documented[name] {
			t.Errorf("option %s has no row in CONFIG.md", name)
		}
	}
	if !strings.Contains(string(doc), "`07 \"example\" 03 \"net\" 00 03 \"lab\" c0 00` (19 bytes)") {
		t.Error("CONFIG.md's domain-search example is missing or changed; keep it in step with TestDomainSearchEncoding")
	}
}
