package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/bench/loadgen"
	"github.com/xdhcp/xdhcp/bench/stats"
)

func sample() *loadgen.Result {
	r := &loadgen.Result{Config: loadgen.Config{Scenario: loadgen.ScenarioMix, Clients: 10, Rate: 100}, Elapsed: 2 * time.Second}
	d := &r.Stats.Kinds[stats.DORA]
	d.Started, d.Completed, d.Timeouts = 100, 98, 2
	for i := 1; i <= 98; i++ {
		d.Latency.Record(time.Duration(i) * 100 * time.Microsecond)
	}
	r.Stats.Kinds[stats.Renew].Started, r.Stats.Kinds[stats.Renew].Completed = 100, 100
	return r
}

func TestFrom(t *testing.T) {
	rep := From(sample(), 1.5)
	if len(rep.Kinds) != 2 || rep.Primary != "dora" {
		t.Fatalf("kinds %+v primary %s", rep.Kinds, rep.Primary)
	}
	k := rep.PrimaryKind()
	if k.CompletedPerS != 49 || k.OfferedPerS != 50 || k.DropRatio != 0.02 || k.MaxUs != 9800 {
		t.Errorf("dora %+v", k)
	}
	if k.P50us < 4600 || k.P50us > 5200 {
		t.Errorf("p50 %dµs, want about 4900", k.P50us)
	}
}

func TestWriters(t *testing.T) {
	rep := From(sample(), 0)
	var b bytes.Buffer
	if err := WriteTable(&b, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "dora") || !strings.Contains(b.String(), "2.00%") {
		t.Errorf("table:\n%s", b.String())
	}
	b.Reset()
	if err := WriteJSON(&b, []Report{rep}); err != nil {
		t.Fatal(err)
	}
	var back []Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back) != 1 || back[0].Kinds[0].Completed != 98 {
		t.Errorf("json round trip: %v %+v", err, back)
	}
	b.Reset()
	if err := WriteCSV(&b, []Report{rep}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != 3 || len(rows[1]) != len(CSVHeader) {
		t.Errorf("csv: %v %v", err, rows)
	}
}

func TestProgressLine(t *testing.T) {
	var p Progress
	s := loadgen.Snapshot{Phase: "measure", Elapsed: time.Second}
	s.Stats.Kinds[stats.DORA].Started, s.Stats.Kinds[stats.DORA].Completed = 1000, 900
	if l := p.Line(s, stats.DORA); !strings.Contains(l, "1000/s") || !strings.Contains(l, "900/s") {
		t.Errorf("line %q", l)
	}
	s.Elapsed = 2 * time.Second
	s.Stats.Kinds[stats.DORA].Started, s.Stats.Kinds[stats.DORA].Completed = 3000, 2900
	if l := p.Line(s, stats.DORA); !strings.Contains(l, "2000/s") {
		t.Errorf("second line %q, want interval rate 2000/s", l)
	}
}
