package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunWithoutServing(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "server:\n  interfaces: [eth1]\nscopes:\n  - subnet: 192.0.2.0/24\n    pools: [192.0.2.100-192.0.2.199]\n")
	bad := write("bad.yaml", "server:\n  interfaces: [eth1]\nscopes:\n  - subnet: 192.0.2.0/24\n    leese-time: 8h\n")
	tests := []struct {
		name    string
		args    []string
		want    string // in stdout
		wantErr string
	}{
		{name: "version", args: []string{"--version"}, want: "xdhcpd dev"},
		{name: "check a good file", args: []string{"--config", good, "--check"}, want: "configuration is valid (1 scopes)"},
		{name: "check names the bad key and its line", args: []string{"--config", bad, "--check"}, wantErr: `line 5: unknown key "leese-time"`},
		{name: "missing file", args: []string{"--config", filepath.Join(dir, "none.yaml")}, wantErr: "none.yaml"},
		{name: "unknown flag", args: []string{"--frobnicate"}, wantErr: "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if !strings.Contains(stdout.String(), tt.want) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tt.want)
			}
		})
	}
}
