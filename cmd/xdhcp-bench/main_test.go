package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/xdhcp/xdhcp/bench/suite"
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
		{[]string{"run", "--iface", "lo", "--io", "bogus"}, "--io"},
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

func TestPlansBySweep(t *testing.T) {
	gen := suite.Generator{}
	servers := strings.Split(defaultGenServers, ",")
	got := plansBySweep(gen, servers, fullRates)
	var desc []string
	for _, p := range got {
		desc = append(desc, fmt.Sprintf("%s@%d-%d", strings.Join(p.servers, "+"), p.rates[0], p.rates[len(p.rates)-1]))
	}
	want := "xdhcpd@250-400000 xdhcpd-failover@1000-120000 kea-ha@250-8000 kea+kea-mt+dhcpd+dnsmasq@250-400000"
	if strings.Join(desc, " ") != want {
		t.Errorf("plans %q, want %q", strings.Join(desc, " "), want)
	}
	same := func(string) []int { return []int{1, 2} }
	if got := plansBySweep(gen, servers, same); len(got) != 1 || len(got[0].servers) != len(servers) {
		t.Errorf("one sweep for all gave %d plans, want 1 with every server", len(got))
	}
	if got := plansBySweep(gen, nil, fullRates); len(got) != 0 {
		t.Errorf("no servers gave %d plans", len(got))
	}
}
