// Package suite runs the benchmark matrix: for each server in turn it builds
// a fresh generator/server namespace pair, starts the server with the shared
// Spec, runs each scenario as a sweep of rising offered rates through a
// Driver (perfdhcp or xdhcp-bench's own generator), samples the server's CPU
// time from /proc around every step, and writes CSV and Markdown results.
//
// # Reading the numbers
//
// "Max rate" is the highest completed exchange rate among steps whose drop
// ratio stayed under the threshold (1% by default). CPU s / 1k is the
// server's CPU seconds per 1,000 completed exchanges in the steps measured;
// on a 2-core machine the generator competes for the same CPUs.
package suite
