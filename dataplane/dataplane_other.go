//go:build !linux

package dataplane

import (
	"errors"

	"go.uber.org/zap"

	"github.com/xdhcp/xdhcp/internal/config"
)

// ErrUnsupported is returned by New where XDP does not exist.
var ErrUnsupported = errors.New("xdp dataplane: only on Linux; use the Go filter (NewFilter)")

// Dataplane is the XDP program; on this platform it cannot be loaded.
type Dataplane struct{}

// New returns ErrUnsupported: XDP is Linux only.
func New(config.Dataplane, *zap.Logger) (*Dataplane, error) { return nil, ErrUnsupported }
