package wire

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse and ReadMessage: they must not
// panic, and whatever Parse accepts must re-encode to the same bytes.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", vectorFile)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if _, hx, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
				if raw, err := hex.DecodeString(hx); err == nil {
					f.Add(raw)
				}
			}
		}
	}
	f.Add([]byte{0, 12, 11, 12, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := Parse(in)
		if err == nil {
			out, err := m.Marshal()
			if err != nil || !bytes.Equal(out, in) {
				t.Fatalf("accepted input re-encodes differently: %v\n in %x\nout %x", err, in, out)
			}
			if m.Type == MsgBndUpd || m.Type == MsgBndAck {
				_, _ = ParseBinding(m)
			}
		}
		_, _, _ = ReadMessage(bytes.NewReader(in), nil)
	})
}
