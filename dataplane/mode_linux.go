package dataplane

import "github.com/cilium/ebpf/link"

func (m AttachMode) flags() link.XDPAttachFlags {
	if m == AttachGeneric {
		return link.XDPGenericMode
	}
	return link.XDPDriverMode
}
