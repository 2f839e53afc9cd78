package frame

import "testing"

func FuzzParse(f *testing.F) {
	m := discover()
	buf := make([]byte, MaxLen)
	n, _ := Build(buf, &m)
	f.Add(buf[:n])
	f.Add(buf[:HeaderLen])
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		var a ARP
		_ = Parse(b, &m)
		_ = ParseARP(b, &a)
	})
}
