package server

import (
	"github.com/xdhcp/xdhcp/control/handler"
)

// encodeReply appends the wire form of a reply to buf[:0]: the handler's
// encoder, which knows how its replies are built.
func encodeReply(buf []byte, r *handler.Reply) []byte { return handler.AppendReply(buf, r) }
