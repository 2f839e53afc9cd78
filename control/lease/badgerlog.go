package lease

import (
	"strings"

	"go.uber.org/zap"
)

// badgerLogger routes badger's own log lines to zap. Only warnings and
// errors pass: badger's info lines (compactions, table flushes) are noise
// for an operator, and Open also sets badger's level to WARNING.
type badgerLogger struct {
	log *zap.SugaredLogger
}

func (b badgerLogger) Errorf(format string, args ...any) {
	b.log.Errorf(strings.TrimRight(format, "\n"), args...)
}

func (b badgerLogger) Warningf(format string, args ...any) {
	b.log.Warnf(strings.TrimRight(format, "\n"), args...)
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
