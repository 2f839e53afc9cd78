package failover

import (
	"bufio"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/failover/fsm"
	"github.com/xdhcp/xdhcp/failover/wire"
	"go.uber.org/zap/zaptest"
)

// iscOptionOrder reads the captured ISC pair and returns, per message type,
// the option codes of the message of that type with the most options (for
// BNDUPD: an active binding's, not a free address's).
func iscOptionOrder(t *testing.T) map[wire.MsgType][]wire.OptionCode {
	t.Helper()
	f, err := os.Open(filepath.Join("wire", "testdata", "isc-dhcpd-4.4-pair.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[wire.MsgType][]wire.OptionCode{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		_, hx, ok := strings.Cut(line, " ")
		b, err := hex.DecodeString(hx)
		if !ok || err != nil {
			continue
		}
		m, err := wire.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if c := codes(m); len(c) > len(out[m.Type]) {
			out[m.Type] = c
		}
	}
	return out
}

func codes(m *wire.Message) []wire.OptionCode {
	var c []wire.OptionCode
	for _, o := range m.Options {
		c = append(c, o.Code)
	}
	return c
}

// TestMessagesHaveISCShape checks that the messages we build carry the
// options ISC dhcpd 4.4 sends, in its order.
func TestMessagesHaveISCShape(t *testing.T) {
	isc := iscOptionOrder(t)
	p, err := New(testConfig(fsm.Primary, "127.0.0.1:647"), newFakeServer("p", newOwnership(), nil), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no engine running: the split falls back to the configured one
	now := time.Now()
	active := wire.BindingOptions(&wire.Message{Type: wire.MsgBndUpd}, bindingFromLease(activeLease(testPool(1)[0], now, 1), now.Add(time.Hour)))
	for _, tt := range []struct {
		name string
		m    *wire.Message
		want wire.MsgType
	}{
		{"CONNECT", p.connectMessage(ctx), wire.MsgConnect},
		{"CONNECTACK", p.connectAckMessage(0, ""), wire.MsgConnectAck},
		{"BNDUPD active", active, wire.MsgBndUpd},
	} {
		if got, want := codes(tt.m), isc[tt.want]; !slices.Equal(got, want) {
			t.Errorf("%s options %v, ISC sends %v", tt.name, got, want)
		}
	}
	// A free-address transfer carries no client identity.
	free := wire.BindingOptions(&wire.Message{Type: wire.MsgBndUpd}, bindingFromLease(lease.Lease{IP: testPool(1)[0], State: lease.StateBackup}, time.Time{}))
	if got := codes(free); slices.Contains(got, wire.OptChaddr) || slices.Contains(got, wire.OptClientIdentifier) {
		t.Errorf("free transfer carries client options: %v", got)
	}
}
