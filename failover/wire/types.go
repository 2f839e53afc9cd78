package wire

import "fmt"

// MsgType is a failover message type (draft-12 §6.1; ISC's FTM_* values).
type MsgType uint8

// The message types.
const (
	MsgPoolReq    MsgType = 1
	MsgPoolResp   MsgType = 2
	MsgBndUpd     MsgType = 3
	MsgBndAck     MsgType = 4
	MsgConnect    MsgType = 5
	MsgConnectAck MsgType = 6
	MsgUpdReqAll  MsgType = 7
	MsgUpdDone    MsgType = 8
	MsgUpdReq     MsgType = 9
	MsgState      MsgType = 10
	MsgContact    MsgType = 11
	MsgDisconnect MsgType = 12
)

var msgNames = map[MsgType]string{
	MsgPoolReq: "POOLREQ", MsgPoolResp: "POOLRESP", MsgBndUpd: "BNDUPD", MsgBndAck: "BNDACK",
	MsgConnect: "CONNECT", MsgConnectAck: "CONNECTACK", MsgUpdReqAll: "UPDREQALL", MsgUpdDone: "UPDDONE",
	MsgUpdReq: "UPDREQ", MsgState: "STATE", MsgContact: "CONTACT", MsgDisconnect: "DISCONNECT",
}

// String returns the draft's name of the type.
func (t MsgType) String() string {
	if n, ok := msgNames[t]; ok {
		return n
	}
	return fmt.Sprintf("MSG%d", uint8(t))
}

// Known reports whether t is one of the twelve draft-12 message types.
func (t MsgType) Known() bool { _, ok := msgNames[t]; return ok }

// OptionCode is a failover option code (draft-12 §12; ISC's FTO_* values).
type OptionCode uint16

// The option codes, numbered as in ISC dhcpd 4.4 includes/failover.h, which
// matches draft-12 §12.
const (
	OptAddressesTransferred OptionCode = 1
	OptAssignedIPAddress    OptionCode = 2
	OptBindingStatus        OptionCode = 3
	OptClientIdentifier     OptionCode = 4
	OptChaddr               OptionCode = 5
	OptCLTT                 OptionCode = 6 // client-last-transaction-time
	OptReplyOptions         OptionCode = 7
	OptRequestOptions       OptionCode = 8
	OptDDNS                 OptionCode = 9
	OptDelayedService       OptionCode = 10
	OptHashBucketAssignment OptionCode = 11
	OptIPFlags              OptionCode = 12
	OptLeaseExpiry          OptionCode = 13
	OptMaxUnacked           OptionCode = 14
	OptMCLT                 OptionCode = 15
	OptMessage              OptionCode = 16
	OptMessageDigest        OptionCode = 17
	OptPotentialExpiry      OptionCode = 18
	OptReceiveTimer         OptionCode = 19
	OptProtocolVersion      OptionCode = 20
	OptRejectReason         OptionCode = 21
	OptRelationshipName     OptionCode = 22
	OptServerFlags          OptionCode = 23
	OptServerState          OptionCode = 24
	OptStartTimeOfState     OptionCode = 25
	OptTLSReply             OptionCode = 26
	OptTLSRequest           OptionCode = 27
	OptVendorClass          OptionCode = 28
	OptVendorOptions        OptionCode = 29
)

// optionSpec is a known option's name and size rule.
type optionSpec struct {
	name string
	size int
	min  int // least length of a variable option
}

// optionInfo gives each known option, indexed by its code, its name and
// fixed size (0: variable); codes without a name are unknown. An array,
// not a map: Parse looks up every option of every message, and an index
// costs a fraction of a map lookup.
var optionInfo = [...]optionSpec{
	OptAddressesTransferred: {"addresses-transferred", 4, 0},
	OptAssignedIPAddress:    {"assigned-IP-address", 4, 0},
	OptBindingStatus:        {"binding-status", 1, 0},
	OptClientIdentifier:     {"client-identifier", 0, 0},
	OptChaddr:               {"client-hardware-address", 0, 1},
	OptCLTT:                 {"client-last-transaction-time", 4, 0},
	OptReplyOptions:         {"client-reply-options", 0, 0},
	OptRequestOptions:       {"client-request-options", 0, 0},
	OptDDNS:                 {"DDNS", 0, 2},
	OptDelayedService:       {"delayed-service-parameter", 1, 0},
	OptHashBucketAssignment: {"hash-bucket-assignment", HBASize, 0},
	OptIPFlags:              {"IP-flags", 2, 0},
	OptLeaseExpiry:          {"lease-expiration-time", 4, 0},
	OptMaxUnacked:           {"max-unacked-bndupd", 4, 0},
	OptMCLT:                 {"MCLT", 4, 0},
	OptMessage:              {"message", 0, 0},
	OptMessageDigest:        {"message-digest", 0, 1},
	OptPotentialExpiry:      {"potential-expiration-time", 4, 0},
	OptReceiveTimer:         {"receive-timer", 4, 0},
	OptProtocolVersion:      {"protocol-version", 1, 0},
	OptRejectReason:         {"reject-reason", 1, 0},
	OptRelationshipName:     {"relationship-name", 0, 0},
	OptServerFlags:          {"server-flags", 1, 0},
	OptServerState:          {"server-state", 1, 0},
	OptStartTimeOfState:     {"start-time-of-state", 4, 0},
	OptTLSReply:             {"TLS-reply", 1, 0},
	OptTLSRequest:           {"TLS-request", 1, 0},
	OptVendorClass:          {"vendor-class-identifier", 0, 0},
	OptVendorOptions:        {"vendor-specific-options", 0, 0},
}

// spec returns c's size rule; ok is false for an option this package does
// not know.
func (c OptionCode) spec() (optionSpec, bool) {
	if int(c) >= len(optionInfo) || optionInfo[c].name == "" {
		return optionSpec{}, false
	}
	return optionInfo[c], true
}

// String returns the draft's name of the option.
func (c OptionCode) String() string {
	if i, ok := c.spec(); ok {
		return i.name
	}
	return fmt.Sprintf("option-%d", uint16(c))
}

// BindingStatus is the binding-status option's value (draft-12 §12.3).
// Its values equal lease.State's.
type BindingStatus uint8

// The binding states.
const (
	BindingFree      BindingStatus = 1
	BindingActive    BindingStatus = 2
	BindingExpired   BindingStatus = 3
	BindingReleased  BindingStatus = 4
	BindingAbandoned BindingStatus = 5
	BindingReset     BindingStatus = 6
	BindingBackup    BindingStatus = 7
)

// ServerState is the server-state option's value (draft-12 §12.24), with
// ISC's 254 for RECOVER-WAIT, which the draft names but does not number.
type ServerState uint8

// The server states on the wire.
const (
	StateStartup                   ServerState = 1
	StateNormal                    ServerState = 2
	StateCommunicationsInterrupted ServerState = 3
	StatePartnerDown               ServerState = 4
	StatePotentialConflict         ServerState = 5
	StateRecover                   ServerState = 6
	StatePaused                    ServerState = 7
	StateShutdown                  ServerState = 8
	StateRecoverDone               ServerState = 9
	StateResolutionInterrupted     ServerState = 10
	StateConflictDone              ServerState = 11
	StateRecoverWait               ServerState = 254
)

var stateNames = map[ServerState]string{
	StateStartup: "STARTUP", StateNormal: "NORMAL", StateCommunicationsInterrupted: "COMMUNICATIONS-INTERRUPTED",
	StatePartnerDown: "PARTNER-DOWN", StatePotentialConflict: "POTENTIAL-CONFLICT", StateRecover: "RECOVER",
	StatePaused: "PAUSED", StateShutdown: "SHUTDOWN", StateRecoverDone: "RECOVER-DONE",
	StateResolutionInterrupted: "RESOLUTION-INTERRUPTED", StateConflictDone: "CONFLICT-DONE", StateRecoverWait: "RECOVER-WAIT",
}

// String returns the draft's name of the state.
func (s ServerState) String() string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return fmt.Sprintf("STATE%d", uint8(s))
}

// Known reports whether s is one of the twelve defined states.
func (s ServerState) Known() bool { _, ok := stateNames[s]; return ok }

// ServerFlagStartup is the server-flags bit a server sets while in STARTUP.
const ServerFlagStartup = 0x01

// RejectReason is the reject-reason option's value (draft-12 §12.21, ISC's
// FTR_* values).
type RejectReason uint8

// The reject reasons this package's users send or meet.
const (
	RejectIllegalIPAddr       RejectReason = 1
	RejectFatalConflict       RejectReason = 2
	RejectMissingBindInfo     RejectReason = 3
	RejectTimeMismatch        RejectReason = 4
	RejectInvalidMCLT         RejectReason = 5
	RejectMisc                RejectReason = 6
	RejectDuplicateConnection RejectReason = 7
	RejectInvalidPartner      RejectReason = 8
	RejectTLSUnsupported      RejectReason = 9
	RejectTLSUnconfigured     RejectReason = 10
	RejectTLSRequired         RejectReason = 11
	RejectDigestUnsupported   RejectReason = 12
	RejectDigestUnconfigured  RejectReason = 13
	RejectVersionMismatch     RejectReason = 14
	RejectOutdatedBindInfo    RejectReason = 15
	RejectLessCritBindInfo    RejectReason = 16
	RejectNoTraffic           RejectReason = 17
	RejectHBAConflict         RejectReason = 18
	RejectIPNotReserved       RejectReason = 19
	RejectDigestFailure       RejectReason = 20
	RejectMissingDigest       RejectReason = 21
	RejectUnknown             RejectReason = 254
)

var rejectNames = map[RejectReason]string{
	RejectIllegalIPAddr: "illegal-ip-address", RejectFatalConflict: "fatal-conflict", RejectMissingBindInfo: "missing-binding-info",
	RejectTimeMismatch: "time-mismatch", RejectInvalidMCLT: "invalid-mclt", RejectMisc: "unknown-reason",
	RejectDuplicateConnection: "duplicate-connection", RejectInvalidPartner: "invalid-partner", RejectTLSUnsupported: "tls-unsupported",
	RejectTLSUnconfigured: "tls-unconfigured", RejectTLSRequired: "tls-required", RejectDigestUnsupported: "digest-unsupported",
	RejectDigestUnconfigured: "digest-unconfigured", RejectVersionMismatch: "version-mismatch", RejectOutdatedBindInfo: "outdated-binding-info",
	RejectLessCritBindInfo: "less-critical-binding-info", RejectNoTraffic: "no-traffic", RejectHBAConflict: "hba-conflict",
	RejectIPNotReserved: "ip-not-reserved", RejectDigestFailure: "digest-failure", RejectMissingDigest: "missing-digest",
	RejectUnknown: "unknown",
}

// String names the reason as a metric label would (draft-12 §12.21's
// wording, lower case with hyphens); unknown codes as "reason-N".
func (r RejectReason) String() string {
	if n, ok := rejectNames[r]; ok {
		return n
	}
	return fmt.Sprintf("reason-%d", uint8(r))
}

// ProtocolVersion is the protocol-version value ISC sends.
const ProtocolVersion = 1
