package failover

import (
	"net/netip"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/failover/fsm"
)

// ServingPolicy is what the DHCP side may do in the current failover
// state: which clients to answer, which free addresses to hand out, and
// whether the RFC 3074 buckets filter clients.
type ServingPolicy = fsm.ServingPolicy

// The serving policy's values, re-exported so the server needs only this
// package.
const (
	AnswerNone      = fsm.AnswerNone      // answer no client
	AnswerRenewOnly = fsm.AnswerRenewOnly // answer RENEWING and REBINDING requests only
	AnswerAll       = fsm.AnswerAll       // answer every client of an owned bucket
	AllocateNone    = fsm.AllocateNone    // no new bindings
	AllocateOwn     = fsm.AllocateOwn     // new bindings from this server's share (Own)
	AllocateAll     = fsm.AllocateAll     // new bindings from both shares
)

// StateStore is durable metadata storage; lease.Store satisfies it.
type StateStore = fsm.StateStore

// Deps is what the server gives the engine. Every method may be called
// from the engine's goroutine while DHCP traffic runs; none may call back
// into the Peer.
type Deps interface {
	StateStore
	// ApplyBinding durably commits a binding (a partner's update, or a
	// pool transfer the engine decided) and updates the allocator. The
	// server must NOT call Peer.Updated for it.
	ApplyBinding(l lease.Lease) error
	// ForEachBinding calls fn for every stored binding until fn returns
	// false (used to answer UPDREQALL and to resend after a restart).
	ForEachBinding(fn func(lease.Lease) bool)
	// SetOwnedBuckets installs the buckets this server answers in the
	// dataplane and the Go filter; loadBalancing false means answer every
	// client whatever its bucket (but still only if owned is all true).
	SetOwnedBuckets(owned [256]bool, loadBalancing bool) error
	// SetServing tells the allocator and handler what they may do.
	SetServing(p ServingPolicy)
}

// FreePools is optionally implemented by Deps to let the engine rebalance
// free addresses between the partners (draft-12 FREE = the primary's,
// BACKUP = the secondary's) when one side runs low. Without it, the
// division is left to the allocator (ServingPolicy.PrimaryShare).
type FreePools interface {
	// ForEachFree calls fn for every address of the failover scopes that
	// is free for allocation, with lease.StateFree (the primary's) or
	// lease.StateBackup (the secondary's), until fn returns false.
	ForEachFree(fn func(ip netip.Addr, owner lease.State) bool)
	// GiveFree moves up to n of this server's free addresses into the
	// partner's share, stops using them, commits the change durably and
	// returns their FREE or BACKUP records, which the engine sends to the
	// partner as BNDUPDs (alloc.Scope.Transfer with OwnerSelf).
	GiveFree(n int) ([]lease.Lease, error)
}

// BatchApplier is optionally implemented by Deps to take the partner's
// updates that arrived together with one durable commit instead of one
// commit each. StageBinding judges a binding and puts it in force in
// memory as ApplyBinding does, without making it durable, and returns the
// record to persist; CommitBindings makes a run's staged records durable
// in one commit. The engine stages each update in the order the messages
// arrived and sends no BNDACK before CommitBindings has returned. Without
// it the engine calls ApplyBinding for each, and the partner's stream is
// held to one synced commit per update.
type BatchApplier interface {
	StageBinding(l lease.Lease) (lease.Lease, error)
	CommitBindings(recs []lease.Lease) error
}

// AsyncBatchApplier is a BatchApplier whose commit does not block:
// CommitBindingsAsync queues a run's staged records for one durable
// commit and calls done once with its outcome, from another goroutine,
// without blocking. The engine then goes on reading the partner's
// acknowledgements and sending its own updates while the commit is in
// flight, and sends the run's BNDACKs when done has reported; with a
// blocking CommitBindings both directions of the stream stall for every
// commit.
type AsyncBatchApplier interface {
	BatchApplier
	CommitBindingsAsync(recs []lease.Lease, done func(error))
}

// AckHandler is optionally implemented by Deps to hear that the partner
// accepted one of this server's EXPIRED or RELEASED binding updates
// (BNDACK without a reject reason): the address may then become FREE
// (draft-12 §5.4; alloc.Scope.Acked). Acknowledgements of other updates
// are not passed on: the ack of an ACTIVE update must not free an address
// whose binding ended here after that update was sent.
type AckHandler interface {
	BindingAcked(l lease.Lease)
}

// RejectError, returned by Deps.ApplyBinding (possibly wrapped), chooses
// the reject-reason sent in the BNDACK; any other error sends reason 6
// (unknown reason).
type RejectError struct {
	Reason uint8 // draft-12 §12.21 reject-reason code
	Err    error
}

func (e *RejectError) Error() string { return e.Err.Error() }
func (e *RejectError) Unwrap() error { return e.Err }

// Status is a snapshot of the engine for xdhcpctl failover status.
type Status struct {
	Name             string
	Role             string
	Mode             string
	State            string
	StateSince       time.Time
	PartnerState     string // "" when unknown
	PartnerSince     time.Time
	Connected        bool
	SplitPercent     int
	MCLT             time.Duration
	Authenticated    bool
	UnackedUpdates   int // BNDUPDs in flight
	PendingUpdates   int // bindings waiting to be sent
	LastContact      time.Time
	ClockSkew        time.Duration // partner's clock minus ours, at second resolution
	ClockSkewWarning bool
	OwnedBuckets     int
	Serving          ServingPolicy
	Counters         Counters
	ReplicationLag   Lag               // committed binding queued → partner's BNDACK
	RejectedBy       map[string]uint64 // our updates the partner refused, by reject reason (wire.RejectReason's name)
}

// Counters are the engine's event counts since start.
type Counters struct {
	Connections     uint64 // handshakes completed
	AuthFailures    uint64 // messages or connections refused for a missing, wrong or replayed digest
	Malformed       uint64 // connections dropped for undecodable bytes or protocol violations
	Timeouts        uint64 // connections dropped for silence
	UpdatesSent     uint64
	UpdatesAcked    uint64
	UpdatesRejected uint64 // our BNDUPDs the partner refused (by reason: Status.RejectedBy)
	UpdatesResent   uint64 // refused BNDUPDs sent again (retryable reasons, up to Config.MaxResends)
	UpdatesReceived uint64
	ApplyFailures   uint64 // partner BNDUPDs we could not commit
	AddressesMoved  uint64 // free addresses given to the partner by pool balancing
	SettingsPushed  uint64 // our scope settings the partner applied
	SettingsApplied uint64 // the partner's scope settings we applied
	SettingsRefused uint64 // the partner's scope settings we refused (newer here, invalid, malformed transfer)
}
