package dataplane

import (
	"fmt"
	"strings"
)

// Action is what happens to a frame. Its values are those of the C enum
// xdhcp_action in bpf/xdhcp.c.
type Action uint8

// The actions.
const (
	Pass Action = iota // hand the frame to the stack (and so to the control plane)
	Drop               // drop the frame
	actionLen
)

var actionNames = [actionLen]string{
	Pass: "pass",
	Drop: "drop",
}

func (a Action) String() string {
	if a < actionLen {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// Reason says why a frame got its action. Its values are those of the C
// enum xdhcp_reason in bpf/xdhcp.c.
type Reason uint8

// The reasons.
const (
	ReasonNotDHCP        Reason = iota // not IPv4/UDP to port 67, or headers cut short: passed
	ReasonFragment                     // an IPv4 fragment, left to the stack to reassemble: passed
	ReasonNotRequest                   // BOOTP op is not BOOTREQUEST: passed
	ReasonMalformed                    // bad UDP length, short BOOTP header, hlen > 16, broken options: dropped
	ReasonOurs                         // load-balanced request in one of our buckets: passed
	ReasonPartner                      // load-balanced request in the partner's bucket: dropped
	ReasonSecsBypass                   // partner's bucket, but the client has waited secs-bypass seconds: passed
	ReasonUnbalanced                   // renewing/rebinding REQUEST, DECLINE, RELEASE, INFORM, other types: passed
	ReasonOverload                     // option 52 and no option 53 in the options field: passed
	ReasonOptionLimit                  // more options than the program walks: passed
	ReasonRateLimit                    // the client exceeded its packet rate: dropped
	ReasonSourceLimit                  // the source (Ethernet source and VLANs, or relay and option 82) exceeded its rate: dropped
	ReasonDiscoverBudget               // DISCOVERs from everyone together exceeded the discover budget: dropped
	ReasonRetryLane                    // the discover budget was spent, but the client asked before and the retry lane had room: passed
	reasonLen
)

var reasonNames = [reasonLen]string{
	ReasonNotDHCP:        "not-dhcp",
	ReasonFragment:       "fragment",
	ReasonNotRequest:     "not-request",
	ReasonMalformed:      "malformed",
	ReasonOurs:           "ours",
	ReasonPartner:        "partner",
	ReasonSecsBypass:     "secs-bypass",
	ReasonUnbalanced:     "unbalanced",
	ReasonOverload:       "overload",
	ReasonOptionLimit:    "option-limit",
	ReasonRateLimit:      "ratelimit",
	ReasonSourceLimit:    "source-limit",
	ReasonDiscoverBudget: "discover-budget",
	ReasonRetryLane:      "retry-lane",
}

func (r Reason) String() string {
	if r < reasonLen {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Verdict is the decision on one frame.
type Verdict struct {
	Action Action
	Reason Reason
}

// String names the verdict as the counters do: "passed-ours",
// "dropped-partner", ...
func (v Verdict) String() string {
	verb := "passed"
	if v.Action == Drop {
		verb = "dropped"
	} else if v.Action != Pass {
		verb = v.Action.String()
	}
	return verb + "-" + v.Reason.String()
}

// counterIndex is the key of a verdict in the counters map.
func counterIndex(v Verdict) int { return int(v.Action)*int(reasonLen) + int(v.Reason) }

// verdictOfIndex is the inverse of counterIndex.
func verdictOfIndex(i int) Verdict {
	return Verdict{Action: Action(i / int(reasonLen)), Reason: Reason(i % int(reasonLen))}
}

const counterSlots = int(actionLen) * int(reasonLen)

// Counter is the number of frames, and their bytes, given one verdict.
type Counter struct {
	Verdict
	Packets uint64
	Bytes   uint64
}

// Stats holds a counter for every (action, reason) pair, including those at
// zero, in counter-index order.
type Stats struct {
	Counters []Counter
}

func newStats() Stats {
	s := Stats{Counters: make([]Counter, counterSlots)}
	for i := range s.Counters {
		s.Counters[i].Verdict = verdictOfIndex(i)
	}
	return s
}

// Get returns the counter of v.
func (s Stats) Get(v Verdict) Counter {
	i := counterIndex(v)
	if i < len(s.Counters) {
		return s.Counters[i]
	}
	return Counter{Verdict: v}
}

// Packets returns how many frames got verdict v.
func (s Stats) Packets(v Verdict) uint64 { return s.Get(v).Packets }

// Total returns the number of frames seen.
func (s Stats) Total() uint64 {
	var n uint64
	for _, c := range s.Counters {
		n += c.Packets
	}
	return n
}

// String lists the non-zero counters, one "name packets" pair a line.
func (s Stats) String() string {
	var b strings.Builder
	for _, c := range s.Counters {
		if c.Packets == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s %d\n", c.Verdict, c.Packets)
	}
	return b.String()
}
