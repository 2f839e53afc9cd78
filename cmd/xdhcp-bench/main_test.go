package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"
)

func TestCommandErrors(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{}, "help"},
		{[]string{"nope"}, "help"},
		{[]string{"run"}, "--iface is required"},
		{[]string{"run", "--iface", "x", "--mac-seed", "300"}, "--mac-seed"},
		{[]string{"run", "--iface", "x", "--relay", "bad"}, "--relay"},
		{[]string{"responder"}, "--iface is required"},
		{[]string{"responder", "--iface", "x", "--address", "::1"}, "--address"},
		{[]string{"suite", "--servers", "none", "--perfdhcp-servers", "none", "--yardstick=false"}, "nothing to run"},
		{[]string{"suite", "--rates", "1,x"}, "--rates"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), env{stdout: &out, stderr: &errOut, log: zaptest.NewLogger(t)}, tt.args)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantErr == "help" {
				if !errors.Is(err, flag.ErrHelp) {
					t.Errorf("err = %v, want flag.ErrHelp", err)
				}
				return
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}
