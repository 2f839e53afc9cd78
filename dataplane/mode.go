package dataplane

import "fmt"

// AttachMode is how the program is attached to an interface.
type AttachMode uint8

// The attach modes.
const (
	AttachNative  AttachMode = iota + 1 // in the driver (XDP_FLAGS_DRV_MODE)
	AttachGeneric                       // after the skb is built (XDP_FLAGS_SKB_MODE)
)

func (m AttachMode) String() string {
	switch m {
	case AttachNative:
		return "native"
	case AttachGeneric:
		return "generic"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}
