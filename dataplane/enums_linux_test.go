package dataplane

import (
	"strings"
	"testing"
)

// TestEnumsInStep checks Go's Action and Reason against the C enums that
// bpf2go generated from bpf/xdhcp.c: same values, same count, same names.
func TestEnumsInStep(t *testing.T) {
	if int(xdhcpXdhcpActionXDHCP_ACTION_LEN) != int(actionLen) {
		t.Fatalf("C has %d actions, Go %d", xdhcpXdhcpActionXDHCP_ACTION_LEN, actionLen)
	}
	if int(xdhcpXdhcpReasonXDHCP_REASON_LEN) != int(reasonLen) {
		t.Fatalf("C has %d reasons, Go %d", xdhcpXdhcpReasonXDHCP_REASON_LEN, reasonLen)
	}
	actions := map[xdhcpXdhcpAction]Action{
		xdhcpXdhcpActionXDHCP_ACTION_PASS: Pass,
		xdhcpXdhcpActionXDHCP_ACTION_DROP: Drop,
	}
	if len(actions) != int(actionLen) {
		t.Fatalf("the test maps %d actions, C has %d: add the new one here", len(actions), actionLen)
	}
	for c, g := range actions {
		if uint32(c) != uint32(g) {
			t.Errorf("action %s: C value %d, Go value %d", g, c, g)
		}
	}
	reasons := map[xdhcpXdhcpReason]Reason{
		xdhcpXdhcpReasonXDHCP_REASON_NOT_DHCP:        ReasonNotDHCP,
		xdhcpXdhcpReasonXDHCP_REASON_FRAGMENT:        ReasonFragment,
		xdhcpXdhcpReasonXDHCP_REASON_NOT_REQUEST:     ReasonNotRequest,
		xdhcpXdhcpReasonXDHCP_REASON_MALFORMED:       ReasonMalformed,
		xdhcpXdhcpReasonXDHCP_REASON_OURS:            ReasonOurs,
		xdhcpXdhcpReasonXDHCP_REASON_PARTNER:         ReasonPartner,
		xdhcpXdhcpReasonXDHCP_REASON_SECS_BYPASS:     ReasonSecsBypass,
		xdhcpXdhcpReasonXDHCP_REASON_UNBALANCED:      ReasonUnbalanced,
		xdhcpXdhcpReasonXDHCP_REASON_OVERLOAD:        ReasonOverload,
		xdhcpXdhcpReasonXDHCP_REASON_OPTION_LIMIT:    ReasonOptionLimit,
		xdhcpXdhcpReasonXDHCP_REASON_RATELIMIT:       ReasonRateLimit,
		xdhcpXdhcpReasonXDHCP_REASON_SOURCE_LIMIT:    ReasonSourceLimit,
		xdhcpXdhcpReasonXDHCP_REASON_DISCOVER_BUDGET: ReasonDiscoverBudget,
		xdhcpXdhcpReasonXDHCP_REASON_RETRY_LANE:      ReasonRetryLane,
	}
	if len(reasons) != int(reasonLen) {
		t.Fatalf("the test maps %d reasons, C has %d: add the new one here", len(reasons), reasonLen)
	}
	for c, g := range reasons {
		if uint32(c) != uint32(g) {
			t.Errorf("reason %s: C value %d, Go value %d", g, c, g)
		}
	}
	// Go's names are the C names, lower case, with dashes.
	for g := range reasonLen {
		if name := g.String(); name == "" || strings.HasPrefix(name, "reason(") {
			t.Errorf("reason %d has no name", g)
		}
	}
	for g := range actionLen {
		if name := g.String(); name == "" || strings.HasPrefix(name, "action(") {
			t.Errorf("action %d has no name", g)
		}
	}
}
