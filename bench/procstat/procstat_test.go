package procstat

import (
	"os"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    CPU
		wantErr bool
	}{
		{
			name: "plain",
			stat: "8197 (kea-dhcp4) S 1 8197 8197 0 -1 4194560 2280 0 0 0 148 39 0 0 20 0 3 0 1 2 3",
			want: CPU{User: 1.48, System: 0.39},
		},
		{
			name: "command with spaces and parens",
			stat: "42 (a) b (c)) R 1 2 3 4 5 6 7 8 9 10 250 100 0 0",
			want: CPU{User: 2.5, System: 1},
		},
		{name: "truncated", stat: "42 (x) R 1 2 3", wantErr: true},
		{name: "no parens", stat: "42 x R", wantErr: true},
		{name: "bad number", stat: "42 (x) R 1 2 3 4 5 6 7 8 9 10 zz 1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.stat))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReadSelfGrows(t *testing.T) {
	before, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for i := 0; i < 300_000_000; i++ {
		x += i ^ (x >> 3)
	}
	after, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after.Total() <= before.Total() {
		t.Errorf("cpu time did not grow after busy loop (%d): before %v after %v", x, before, after)
	}
}
