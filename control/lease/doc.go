// Package lease defines the lease record and keeps leases durably in
// badger (github.com/dgraph-io/badger/v4).
//
// The rule the package exists for: a lease is durable before its DHCPACK
// leaves, so that no acknowledged lease is lost, not even to kill -9, and
// the allocators can be rebuilt from the store at start (Store.ForEach).
//
// # Records and keys
//
// A Lease is stored as a compact binary record (Lease.MarshalBinary) whose
// first byte is the format version; UnmarshalBinary rejects anything it
// cannot fully account for with an error wrapping ErrBadRecord, and is
// fuzzed (FuzzUnmarshal) never to panic. The key is one prefix byte and the
// four address bytes, so badger's key order is IP order and ForEach walks
// leases by address. Small settings (PutMeta, GetMeta) live under another
// prefix and never appear among leases.
//
// # Durability: what is synced when
//
// Badger is opened with SyncWrites: when a transaction commits, badger
// appends its entries to the memtable's write-ahead log (a memory-mapped
// file) and syncs it (msync with MS_SYNC: the dirty pages are written and
// the call waits for the device) before the commit returns. Commit and
// CommitAsync complete only after that commit returned without error, and
// the DHCP server sends the ACK only then. A process killed at any later
// moment leaves the entries in the log, and badger replays the log on the
// next Open; TestCrashKeepsAckedLeases kills a committing child with
// SIGKILL and checks every lease it acknowledged. Surviving a power cut
// rests on the same sync and on the disk honouring it; no test here cuts
// power. An error, or a
// context ending first, means "not known to be durable": the ACK must not
// be sent. PutMeta is a synced transaction of its own. Delete goes through
// the same committer as Commit, so a delete and a commit of one address
// from different goroutines take effect in the order they were queued.
//
// # Group commit: why durability does not cap throughput
//
// One sync takes a fixed time whether it covers one lease or hundreds, so
// one transaction per lease would cap the server at one ACK per sync. A
// single committer goroutine therefore owns all writes: callers queue
// requests, and each time the committer is free it takes everything
// waiting (up to Options.MaxBatch leases; a request is never split),
// writes it in one transaction, commits with one sync, and then completes
// every request of the batch. While a sync is in flight the next batch
// gathers, so the batch size grows with the load and the sync cost per
// lease falls. BenchmarkCommitSerial and BenchmarkCommitParallel measure
// the two cases on a real directory:
//
//	go test -run '^$' -bench Commit -benchtime 3s ./control/lease/
//
// A transaction that grows past what badger takes at once (ErrTxnTooBig,
// only for very large Commit calls) is committed and a new one begun; the
// requests complete after the last. A failed commit completes every
// request of its batch with the error; the committer logs it (once, then
// at most every ten seconds while failures persist) and tries the next
// batch afresh.
//
// # Full disk
//
// Badger writes its log and tables through memory-mapped, sparsely
// allocated files. On a full file system a write into such a file is not
// an error but a SIGBUS, which kills the Go process (TestFullDisk shows
// it). The store therefore keeps a reserve: before every commit, PutMeta,
// Open and Close it checks the free space of its file system (statfs),
// and below Options.MinFreeBytes it refuses with an error wrapping
// ErrLowDiskSpace and writes nothing. Reads go on working, and commits
// succeed again once space is freed. Close below the reserve leaves badger
// open (its final flush would fault) and returns the error; the synced log
// is replayed by the next Open. The reserve guards the store's own writes
// only: badger's background compaction, or another process filling the
// disk between the check and the write, can still hit a full disk. Size
// the reserve above a couple of memtables (16 MiB each) plus the largest
// compaction the lease count implies; the default is 128 MiB.
//
// # Corrupt records
//
// A record that does not decode, or whose address disagrees with its key,
// is reported rather than skipped silently or allowed to stop the server:
// Get returns an error wrapping ErrCorrupt for that address, and ForEach
// visits every readable lease and then returns a *CorruptRecordsError
// naming the unreadable keys. A caller rebuilding allocators should keep
// those addresses out of use (they may be bound to a client) and log
// them; committing a good lease for the address overwrites the record.
//
// # Housekeeping
//
// Badger keeps one version per key. Its value-log GC runs every
// Options.GCInterval (10 minutes by default) until it finds nothing to
// rewrite, and stops on Close. Badger's own log lines go to the zap logger
// at warning level and above. Value-log files are 64 MiB and memtables
// 16 MiB (badger's defaults are 1 GiB and 64 MiB); badger creates its
// files sparse, so a fresh store uses a few KiB of disk although ls shows
// their full length. Lease values are far below badger's value threshold
// and live in the LSM tree itself; the value log stays empty. Tables are
// not compressed, so badger keeps no block cache.
package lease
