// Package report turns a generator run into numbers for people and
// scripts: a fixed-width table, JSON, CSV rows, and a one-line live
// progress display.
package report
