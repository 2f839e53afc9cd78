package perfdhcp

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		file      string
		want      Result
		wantRatio float64
	}{
		{
			file: "kea-5000.txt",
			want: Result{
				Rate: 4998.38, ExpectedRate: 5000,
				DO: Exchange{Sent: 24999, Received: 24999, MinDelay: 24 * time.Microsecond, AvgDelay: 73 * time.Microsecond, MaxDelay: 1820 * time.Microsecond},
				RA: Exchange{Sent: 24999, Received: 24998, Drops: 1, MinDelay: 36 * time.Microsecond, AvgDelay: 81 * time.Microsecond, MaxDelay: 1492 * time.Microsecond},
			},
			wantRatio: 1.0 / 24999,
		},
		{
			file:      "no-server.txt",
			want:      Result{ExpectedRate: 1000, DO: Exchange{Sent: 4999, Drops: 4999}},
			wantRatio: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open("testdata/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := Parse(f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			if r := got.DropRatio(); r != tt.wantRatio {
				t.Errorf("DropRatio = %v, want %v", r, tt.wantRatio)
			}
		})
	}
}

func TestParseRejectsGarbage(t *testing.T) {
	for _, in := range []string{"", "perfdhcp: command not found", "Rate: fast"} {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("Parse(%q) succeeded, want error", in)
		}
	}
}

func TestArgs(t *testing.T) {
	got := Options{Iface: "gen0", Rate: 2000, Clients: 60000, Period: 3 * time.Second, Extra: []string{"-d", "0.5"}}.Args()
	want := []string{"-4", "-r", "2000", "-R", "60000", "-p", "3", "-d", "0.5", "-l", "gen0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Args = %v, want %v", got, want)
	}
}
