package fsm

import "fmt"

// StateStore is durable key/value storage for failover metadata;
// lease.Store satisfies it with PutMeta and GetMeta.
type StateStore interface {
	PutMeta(key string, val []byte) error
	GetMeta(key string) ([]byte, bool, error)
}

// StateKey is the metadata key of the failover state record.
const StateKey = "failover/state"

// Load reads the persisted record; nil when none was ever stored.
func Load(s StateStore) (*Persisted, error) {
	b, ok, err := s.GetMeta(StateKey)
	if err != nil {
		return nil, fmt.Errorf("read failover state: %w", err)
	}
	if !ok {
		return nil, nil
	}
	p, err := UnmarshalPersisted(b)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// Save writes the record durably.
func Save(s StateStore, p Persisted) error {
	if err := s.PutMeta(StateKey, p.Marshal()); err != nil {
		return fmt.Errorf("write failover state %s: %w", p.State, err)
	}
	return nil
}
