// Package stats counts a load generator's exchanges per kind and keeps a
// latency histogram for each: log-linear buckets (16 per power of two,
// from 1 µs), so percentiles are exact to within 1/16 of their value
// and recording costs two shifts and an increment.
package stats
