// Package perfdhcp runs ISC perfdhcp in a network namespace and parses its
// end-of-run report into numbers the suite can tabulate.
package perfdhcp
