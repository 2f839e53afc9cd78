package dataplane

import (
	"fmt"

	"github.com/xdhcp/xdhcp/internal/loadbalance"
)

// bucketPolicy is the load-balancing state both twins keep: the split last
// set and whether it is in force. Callers hold their own lock.
type bucketPolicy struct {
	split     [loadbalance.Buckets]bool
	balancing bool
}

func newBucketPolicy() bucketPolicy {
	return bucketPolicy{split: loadbalance.AllBuckets()}
}

// effective returns the buckets served now: the split while balancing,
// every bucket otherwise.
func (p *bucketPolicy) effective() [loadbalance.Buckets]bool {
	if p.balancing {
		return p.split
	}
	return loadbalance.AllBuckets()
}

// splitFor returns the buckets a server owns at percent.
func splitFor(percent int, primary bool) ([loadbalance.Buckets]bool, error) {
	if percent < 0 || percent > 100 {
		return [loadbalance.Buckets]bool{}, fmt.Errorf("load-balance split %d%%: want 0 to 100", percent)
	}
	owned := loadbalance.SplitBuckets(percent)
	if !primary {
		owned = loadbalance.Complement(owned)
	}
	return owned, nil
}

// bitmap packs owned into the 32 bytes the XDP program reads: bit b%8 of
// byte b/8 is set when bucket b is ours.
func bitmap(owned [loadbalance.Buckets]bool) [32]byte {
	var bm [32]byte
	for b, o := range owned {
		if o {
			bm[b/8] |= 1 << (b % 8)
		}
	}
	return bm
}
