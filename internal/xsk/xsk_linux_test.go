//go:build linux

package xsk

import (
	"net"
	"strings"
	"testing"
)

func TestOpenRefusesBadConfig(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatalf("loopback: %v", err)
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"ring not a power of two", Config{RingSize: 100}, "ring size 100: use a power of two"},
		{"ring too small", Config{RingSize: 32}, "ring size 32: use a power of two of at least 64"},
		{"negative queue", Config{Queue: -1}, "queue -1: use 0 or more"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(lo, tc.cfg)
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestModeString(t *testing.T) {
	tests := []struct {
		m    Mode
		want string
	}{
		{Mode{}, "copy mode"},
		{Mode{NeedWakeup: true}, "copy mode, need_wakeup"},
		{Mode{ZeroCopy: true, NeedWakeup: true}, "zero-copy, need_wakeup"},
	}
	for _, tc := range tests {
		if got := tc.m.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.m, got, tc.want)
		}
	}
}
