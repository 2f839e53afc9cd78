package lease

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
)

// openBenchStore opens a store in a real directory, counting commits.
func openBenchStore(b *testing.B, batches *atomic.Int64) *Store {
	b.Helper()
	return mustOpen(b, Options{
		Dir:      b.TempDir(),
		Log:      zap.NewNop(),
		OnCommit: func(int, time.Duration) { batches.Add(1) },
	})
}

func reportCommits(b *testing.B, batches *atomic.Int64) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
	if n := batches.Load(); n > 0 {
		b.ReportMetric(float64(b.N)/float64(n), "leases/fsync")
	}
}

func benchIP(i uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}

// BenchmarkCommitSerial commits one lease at a time from one goroutine:
// every Commit is its own synced transaction.
func BenchmarkCommitSerial(b *testing.B) {
	var batches atomic.Int64
	s := openBenchStore(b, &batches)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		if err := s.Commit(ctx, sampleLease(benchIP(uint32(i)))); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportCommits(b, &batches)
}

// BenchmarkCommitParallel commits one lease per Commit from many
// goroutines, as DHCP workers do; the committer groups them.
func BenchmarkCommitParallel(b *testing.B) {
	var batches atomic.Int64
	s := openBenchStore(b, &batches)
	ctx := context.Background()
	var next atomic.Uint32
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Commit(ctx, sampleLease(benchIP(next.Add(1)))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	reportCommits(b, &batches)
}

// BenchmarkMarshal measures encoding one lease record.
func BenchmarkMarshal(b *testing.B) {
	l := sampleLease(netip.MustParseAddr("192.0.2.1"))
	b.ReportAllocs()
	for range b.N {
		if _, err := l.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshal measures decoding one lease record.
func BenchmarkUnmarshal(b *testing.B) {
	rec, err := sampleLease(netip.MustParseAddr("192.0.2.1")).MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var l Lease
	for range b.N {
		if err := l.UnmarshalBinary(rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommitAsync keeps up to 1024 CommitAsync requests in flight, as
// a DHCP server does that answers from the done callback. The "send"
// variant's callback writes a 300-byte datagram to a loopback socket of
// its own, the cost of sending a reply from the committer goroutine.
func BenchmarkCommitAsync(b *testing.B) {
	for _, send := range []bool{false, true} {
		name := "noop"
		if send {
			name = "send"
		}
		b.Run(name, func(b *testing.B) {
			var batches atomic.Int64
			s := openBenchStore(b, &batches)
			reply := func() {}
			if send {
				reply = loopbackSender(b)
			}
			inflight := make(chan struct{}, 1024)
			b.ResetTimer()
			for i := range b.N {
				inflight <- struct{}{}
				s.CommitAsync(sampleLease(benchIP(uint32(i))), func(err error) {
					if err != nil {
						b.Error(err)
					}
					reply()
					<-inflight
				})
			}
			for range cap(inflight) {
				inflight <- struct{}{}
			}
			b.StopTimer()
			reportCommits(b, &batches)
		})
	}
}

// loopbackSender returns a function that sends one datagram to a UDP
// socket on 127.0.0.1 that the benchmark opened and drains.
func loopbackSender(b *testing.B) func() {
	b.Helper()
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sink.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := sink.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	conn, err := net.DialUDP("udp4", nil, sink.LocalAddr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	msg := make([]byte, 300)
	return func() { conn.Write(msg) }
}
