package suite

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/bench/report"
	"github.com/xdhcp/xdhcp/bench/servers"
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

func TestLagColumns(t *testing.T) {
	rows := []Row{
		{Server: "xdhcpd-failover", Driver: "gen", Scenario: "dora", Step: Step{Offered: 1000, Completed: 1000},
			Lag: Lag{Updates: 3000, P50: 1500 * time.Microsecond, P99: 12 * time.Millisecond, Mean: 2 * time.Millisecond, Unacked: 7}},
		{Server: "kea-ha", Driver: "gen", Scenario: "dora", Step: Step{Offered: 1000, Completed: 990}, LagNote: "inside latency"},
		{Server: "kea-ha", Driver: "gen", Scenario: "renew", Step: Step{Offered: 1000, Completed: 990}, LagNote: "inside latency"},
		{Server: "xdhcpd", Driver: "gen", Scenario: "dora", Step: Step{Offered: 1000, Completed: 1000}},
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, rows, time.Second); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[1][17:], ","); got != "3000,1500,12000,2000,7" {
		t.Errorf("pair lag cells %q, want 3000,1500,12000,2000,7", got)
	}
	if got := strings.Join(recs[4][17:], ","); got != ",,,," {
		t.Errorf("single server lag cells %q, want blank", got)
	}
	back, err := ReadCSV(bytes.NewReader(b.Bytes()))
	if err != nil || back[0].Lag != rows[0].Lag || back[3].Lag != (Lag{}) {
		t.Errorf("ReadCSV lag = %+v, %+v, %v", back[0].Lag, back[3].Lag, err)
	}
	b.Reset()
	if err := WriteMarkdown(&b, rows, time.Second, 0.01); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"| 1.500 | 12.000 | 7 |", "| see note | see note |  |", "Note (kea-ha): inside latency"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if n := strings.Count(md, "Note (kea-ha)"); n != 1 {
		t.Errorf("kea-ha note printed %d times, want once", n)
	}
}

// TestReadCSVBeforeLag reads a results file written before the lag
// columns existed (bench/results/2026-11-27T0222Z has them).
func TestReadCSVBeforeLag(t *testing.T) {
	old := "server,driver,scenario,offered_per_s,completed_per_s,drop_ratio,p50_us,p90_us,p99_us,max_us,naks,dup_addrs,server_cpu_s,server_cpu_s_per_1k,gen_cpu_s,durability,note\n" +
		"kea,xdhcp-bench,dora,250,249.7,0.00000,703,799,1535,2682,0,0,0.34,0.4540,0.23,\"memfile CSV, no fsync\",\n"
	rows, err := ReadCSV(strings.NewReader(old))
	if err != nil || len(rows) != 1 || rows[0].Completed != 249.7 || rows[0].Durability != "memfile CSV, no fsync" || rows[0].Lag != (Lag{}) {
		t.Errorf("ReadCSV = %+v, %v", rows, err)
	}
	if _, err := ReadCSV(strings.NewReader(strings.Replace(old, "p99_us", "p98_us", 1))); err == nil || !strings.Contains(err.Error(), "p99_us") {
		t.Errorf("ReadCSV without p99_us: %v, want an error naming it", err)
	}
}

func TestSummariseLag(t *testing.T) {
	inf := math.Inf(1)
	h := servers.Histogram{Bounds: []float64{0.001, 0.002, 0.004, inf}, Counts: []uint64{0, 50, 100, 100}, Count: 100, Sum: 0.2}
	got := summarise(h)
	want := Lag{Updates: 100, P50: 2 * time.Millisecond, P99: 3960 * time.Microsecond, Mean: 2 * time.Millisecond}
	if got.Updates != want.Updates || (got.P50-want.P50).Abs() > time.Microsecond ||
		(got.P99-want.P99).Abs() > time.Microsecond || (got.Mean-want.Mean).Abs() > time.Microsecond {
		t.Errorf("summarise = %+v, want %+v", got, want)
	}
	if got := summarise(servers.Histogram{}); got != (Lag{}) {
		t.Errorf("summarise(empty) = %+v, want zero", got)
	}
}

func TestStepFromReport(t *testing.T) {
	kind := func(name string, started, completed uint64, offered, rate, drop float64) report.Kind {
		return report.Kind{Kind: name, Started: started, Completed: completed, OfferedPerS: offered, CompletedPerS: rate, DropRatio: drop}
	}
	tests := []struct {
		name      string
		scenario  string
		r         report.Report
		completed float64
		drop      float64
		extra     string
	}{
		{
			name: "dora: the primary kind, no note", scenario: "dora",
			r:         report.Report{Primary: "dora", Kinds: []report.Kind{kind("dora", 100, 100, 1000, 990, 0)}},
			completed: 990,
		},
		{
			name: "skipped starts and replies lost at the generator are noted", scenario: "renew",
			r: report.Report{Primary: "renew", Skipped: 12, RxLost: 3,
				Kinds: []report.Kind{kind("renew", 100, 97, 1000, 970, 0.03)}},
			completed: 970, drop: 0.03,
			extra: "12 starts skipped: no free client; 3 replies lost in the generator's socket",
		},
		{
			name: "flood: the flood's rate, the legitimate clients' drops", scenario: "flood",
			r: report.Report{Primary: "dora", Kinds: []report.Kind{
				kind("dora", 10, 9, 20, 18, 0.1), kind("flood", 1000, 500, 50000, 25000, 0.5)}},
			completed: 50000, drop: 0.1,
			extra: "flood answered 50.0%; legit DORA 9/10 done.",
		},
		{
			name: "mix: both halves, the worse drop ratio", scenario: "mix",
			r: report.Report{Primary: "dora", Kinds: []report.Kind{
				kind("dora", 100, 100, 500, 500, 0), kind("renew", 100, 98, 500, 490, 0.02)}},
			completed: 990, drop: 0.02,
			extra: "dora 500/s + renew 490/s.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := stepFromReport(tt.r, 1000, tt.scenario)
			if st.Offered != 1000 || st.Completed != tt.completed || st.DropRatio != tt.drop || st.Extra != tt.extra {
				t.Errorf("got offered %v completed %v drop %v extra %q; want 1000, %v, %v, %q",
					st.Offered, st.Completed, st.DropRatio, st.Extra, tt.completed, tt.drop, tt.extra)
			}
		})
	}
}
