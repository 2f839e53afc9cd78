package loadbalance

import (
	"bufio"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// refVectors are the test vectors of shared/refs/rfc3074-mixing-table.txt,
// which agree with ISC dhcpd's failover split.
var refVectors = []struct {
	key    string
	bucket uint8
}{
	{"000000000000", 254},
	{"ffffffffffff", 79},
	{"020000000001", 133},
	{"02425a000001", 49},
	{"001122334455", 135},
	{"010011223344", 110},
	{"01020000000001", 14},
	{"6a756e6970657231", 241},
}

func TestHashVectors(t *testing.T) {
	for _, v := range refVectors {
		t.Run(v.key, func(t *testing.T) {
			key, err := hex.DecodeString(v.key)
			if err != nil {
				t.Fatal(err)
			}
			if got := Hash(key); got != v.bucket {
				t.Errorf("Hash(%s) = %d, want %d", v.key, got, v.bucket)
			}
		})
	}
}

func TestHashEmptyKey(t *testing.T) {
	// h starts at len mod 256 = 0 and no byte is mixed in.
	if got := Hash(nil); got != 0 {
		t.Errorf("Hash(nil) = %d, want 0", got)
	}
}

func TestHashLengthSeed(t *testing.T) {
	// A 256-byte key seeds h with 0, like the empty key, and then mixes.
	key := make([]byte, 256)
	h := uint8(0)
	for range key {
		h = mixingTable[h]
	}
	if got := Hash(key); got != h {
		t.Errorf("Hash(256 zero bytes) = %d, want %d", got, h)
	}
}

func TestMixingTableIsPermutation(t *testing.T) {
	var seen [Buckets]bool
	for i, v := range MixingTable() {
		if seen[v] {
			t.Fatalf("value %d repeated at index %d", v, i)
		}
		seen[v] = true
	}
}

// refsFile finds shared/refs/rfc3074-mixing-table.txt beside the repository.
func refsFile(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
	path := filepath.Join(dir, "..", "shared", "refs", "rfc3074-mixing-table.txt")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("reference file not beside the repository (%v); the built-in vectors still ran in TestHashVectors", err)
	}
	return path
}

// TestAgainstReferenceFile reads the mixing table and the vectors from the
// reference text and checks the Go table and Hash against both.
func TestAgainstReferenceFile(t *testing.T) {
	f, err := os.Open(refsFile(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	var table []uint8
	vectors := map[string]uint8{}
	inVectors := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 && fields[0] == "key" {
			inVectors = true
			continue
		}
		if inVectors {
			if len(fields) != 2 {
				continue
			}
			b, err := strconv.Atoi(fields[1])
			if err != nil {
				t.Fatalf("vector %q: %v", sc.Text(), err)
			}
			vectors[fields[0]] = uint8(b)
			continue
		}
		if len(fields) != 16 {
			continue
		}
		var row []uint8
		for _, s := range fields {
			v, err := strconv.Atoi(s)
			if err != nil || v < 0 || v > 255 {
				row = nil
				break
			}
			row = append(row, uint8(v))
		}
		table = append(table, row...)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(table) != Buckets {
		t.Fatalf("reference table has %d entries, want %d", len(table), Buckets)
	}
	for i, v := range table {
		if mixingTable[i] != v {
			t.Errorf("mixingTable[%d] = %d, reference says %d", i, mixingTable[i], v)
		}
	}
	if len(vectors) < len(refVectors) {
		t.Fatalf("reference has %d vectors, want at least %d", len(vectors), len(refVectors))
	}
	for k, want := range vectors {
		key, err := hex.DecodeString(k)
		if err != nil {
			t.Fatalf("vector key %q: %v", k, err)
		}
		if got := Hash(key); got != want {
			t.Errorf("Hash(%s) = %d, reference says %d", k, got, want)
		}
	}
}

func TestClientKey(t *testing.T) {
	mac := []byte{0, 0x11, 0x22, 0x33, 0x44, 0x55}
	tests := []struct {
		name     string
		clientID []byte
		want     []byte
	}{
		{"option 61 wins", []byte{1, 0, 0x11, 0x22, 0x33, 0x44, 0x55}, []byte{1, 0, 0x11, 0x22, 0x33, 0x44, 0x55}},
		{"absent option 61", nil, mac},
		{"empty option 61", []byte{}, mac},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClientKey(tt.clientID, mac); string(got) != string(tt.want) {
				t.Errorf("ClientKey = %x, want %x", got, tt.want)
			}
		})
	}
}

func TestSplitBuckets(t *testing.T) {
	tests := []struct {
		percent int
		want    int // buckets owned, all of them at the start
	}{
		{-5, 0}, {0, 0}, {1, 3}, {33, 84}, {50, 128}, {70, 179}, {99, 253}, {100, 256}, {150, 256},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.percent), func(t *testing.T) {
			owned := SplitBuckets(tt.percent)
			if n := Count(owned); n != tt.want {
				t.Fatalf("SplitBuckets(%d) owns %d buckets, want %d", tt.percent, n, tt.want)
			}
			for i := range tt.want {
				if !owned[i] {
					t.Fatalf("bucket %d not owned; the primary owns 0..%d", i, tt.want-1)
				}
			}
			partner := Complement(owned)
			for i := range Buckets {
				if owned[i] == partner[i] {
					t.Fatalf("bucket %d owned by both or neither", i)
				}
			}
		})
	}
	if Count(AllBuckets()) != Buckets {
		t.Error("AllBuckets does not own every bucket")
	}
}

func BenchmarkHash(b *testing.B) {
	key := []byte{1, 0, 0x11, 0x22, 0x33, 0x44, 0x55}
	for b.Loop() {
		Hash(key)
	}
}
