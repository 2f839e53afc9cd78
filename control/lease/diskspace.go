package lease

import (
	"errors"
	"fmt"
)

// errFreeUnknown makes checkFreeSpace skip its check where free space is
// not measured.
var errFreeUnknown = errors.New("free space not measured on this platform")

// checkFreeSpace refuses a commit while the store's file system has less
// than Options.MinFreeBytes available. Badger writes its WAL and tables
// through memory-mapped, sparsely allocated files; running out of space
// there is a SIGBUS that kills the process, not an error. Keeping a
// reserve turns a filling disk into commit errors first.
func (s *Store) checkFreeSpace() error {
	if s.opts.InMemory || s.opts.MinFreeBytes < 0 {
		return nil
	}
	free, err := freeBytes(s.opts.Dir)
	if err != nil {
		if errors.Is(err, errFreeUnknown) {
			return nil
		}
		return err
	}
	if free < s.opts.MinFreeBytes {
		return fmt.Errorf("%w: %d MiB free in %s, the store keeps %d MiB in reserve (Options.MinFreeBytes)",
			ErrLowDiskSpace, free>>20, s.opts.Dir, s.opts.MinFreeBytes>>20)
	}
	return nil
}
