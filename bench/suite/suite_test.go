package suite

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"
)

func TestBest(t *testing.T) {
	rows := []Row{
		{Server: "kea", Driver: "gen", Scenario: "dora", Step: Step{Offered: 1000, Completed: 1000}},
		{Server: "kea", Driver: "gen", Scenario: "dora", Step: Step{Offered: 5000, Completed: 4990, DropRatio: 0.002}},
		{Server: "kea", Driver: "gen", Scenario: "dora", Step: Step{Offered: 10000, Completed: 6000, DropRatio: 0.4}},
		{Server: "kea", Driver: "perfdhcp", Scenario: "dora", Step: Step{Offered: 1000, Completed: 990}},
		{Server: "dhcpd", Driver: "gen", Scenario: "dora", Step: Step{Offered: 1000, Completed: 100, DropRatio: 0.9}},
	}
	got := Best(rows, 0.01)
	want := []struct {
		server, driver string
		completed      float64
	}{{"kea", "gen", 4990}, {"kea", "perfdhcp", 990}, {"dhcpd", "gen", 0}}
	if len(got) != len(want) {
		t.Fatalf("got %d rows: %+v", len(got), got)
	}
	for i, w := range want {
		if got[i].Server != w.server || got[i].Driver != w.driver || got[i].Completed != w.completed {
			t.Errorf("row %d = %s/%s %.0f, want %+v", i, got[i].Server, got[i].Driver, got[i].Completed, w)
		}
	}
}

func TestWriters(t *testing.T) {
	rows := []Row{{Server: "kea", Driver: "gen", Scenario: "dora", Step: Step{Offered: 1000, Completed: 1000, P50: time.Millisecond}, ServerCPU: 0.5}}
	if got := rows[0].CPUPer1000(2 * time.Second); got != 0.25 {
		t.Errorf("CPUPer1000 = %v, want 0.25", got)
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, rows, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(recs) != 2 || recs[1][13] != "0.2500" {
		t.Errorf("csv %v %v", err, recs)
	}
	var again bytes.Buffer
	if err := WriteCSV(&again, rows, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCSV(&again)
	if err != nil || len(back) != 1 || back[0].P50 != time.Millisecond || back[0].ServerCPU != 0.5 || back[0].Server != "kea" {
		t.Errorf("ReadCSV = %+v, %v", back, err)
	}
	if _, err := ReadCSV(strings.NewReader("a,b\n1,2\n")); err == nil {
		t.Error("ReadCSV accepted a foreign header")
	}
	b.Reset()
	if err := WriteMarkdown(&b, rows, 2*time.Second, 0.01); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "| kea | dora | gen | 1000 |") {
		t.Errorf("markdown:\n%s", b.String())
	}
}

func TestRunNeedsDriver(t *testing.T) {
	if _, err := Run(context.Background(), Config{}); err == nil {
		t.Error("Run without a driver succeeded")
	}
}
