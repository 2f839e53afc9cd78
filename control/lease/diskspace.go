package lease

import (
	"errors"
	"fmt"
)

// errFreeUnknown makes checkFreeSpace skip its check where free space is
// not measured.
var errFreeUnknown = errors.New("free space not measured on this platform")

// checkFreeSpace refuses a write while the store's file system has less
// than Options.MinFreeBytes available. Badger writes its WAL and tables
// through memory-mapped, sparsely allocated files; running out of space
// there is a SIGBUS that kills the process, not an error. Keeping a
// reserve turns a filling disk into errors first.
func (s *Store) checkFreeSpace() error {
	if s.opts.InMemory {
		return nil
	}
	return checkFreeSpace(s.opts.Dir, s.opts.MinFreeBytes)
}

func checkFreeSpace(dir string, minFree int64) error {
	if minFree < 0 {
		return nil
	}
	free, err := freeBytes(dir)
	if err != nil {
		if errors.Is(err, errFreeUnknown) {
			return nil
		}
		return err
	}
	if free < minFree {
		return fmt.Errorf("%w: %d MiB free in %s, the store keeps %d MiB in reserve (Options.MinFreeBytes)",
			ErrLowDiskSpace, free>>20, dir, minFree>>20)
	}
	return nil
}
