// Package fsm is the failover server state machine of draft-ietf-dhc-
// failover-12 §9 as a pure type: no I/O, no clock, no goroutines. The
// connection engine (package failover) feeds it events with the time they
// happened and carries out the actions it returns; tests drive it with a
// table.
//
// # States and events
//
// A Machine starts in STARTUP with the previous state read from stable
// storage (§9.3.2: none recorded means RECOVER with an unknown time of
// failure; a state that needs communications is replaced by its
// communications-failed successor). Events are: communications up or down,
// a STATE received from the partner, UPDDONE received, a timer tick, the
// operator's partner-down command, and shutdown. Handle returns the
// actions to take (send STATE, send UPDREQ or UPDREQALL, raise an alarm)
// and the machine exposes the current state, its start time, the serving
// policy and the next time it needs a tick.
//
// # Timing rules
//
//   - STARTUP lasts at most StartupWait; then the previous state is taken.
//   - COMMUNICATIONS-INTERRUPTED moves to PARTNER-DOWN after
//     SwitchoverInterval when one is configured (ISC's auto-partner-down).
//   - RECOVER-WAIT lasts until the time of failure plus MCLT (§9.6.2), or
//     ends at once when no failover history is known.
//   - In PARTNER-DOWN the partner's free addresses become usable MCLT after
//     entry (§9.4.2).
//
// # Persistence
//
// Persisted is what the engine writes to stable storage on every change
// (state, start time, last time operational), encoded by Marshal.
package fsm
