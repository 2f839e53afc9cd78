package config

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxOptionLen is the most bytes one option can carry without RFC 3396
// long-option splitting, which xdhcp does not do.
const maxOptionLen = 255

// optionKey resolves a key of an options mapping: a name ("routers"), a code
// ("252") or "option-252". It returns the option's definition (kindGeneric
// for unnamed codes) or the problem and its fix.
func optionKey(key string) (optionDef, string) {
	num := strings.TrimPrefix(key, "option-")
	if digitsOnly(num) {
		code, err := strconv.Atoi(num)
		if err != nil || code < 1 || code > 254 {
			return optionDef{}, "option codes run from 1 to 254"
		}
		if def, ok := optionByCode(uint8(code)); ok {
			return def, ""
		}
		return optionDef{code: uint8(code), name: OptionName(uint8(code)), kind: kindGeneric}, ""
	}
	if def, ok := optionByName(key); ok {
		return def, ""
	}
	msg := "unknown option"
	names := optionNames()
	if s := optionAlias(key); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else if s := closest(key, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return optionDef{}, msg + "; use a known name (" + strings.Join(names, ", ") + ") or the option's code in quotes, like \"252\""
}

// options decodes an options mapping into wire-encoded values, recording the
// line of each code in lines.
func (w *walker) options(n *yaml.Node, path string, lines map[uint8]int) Options {
	opts := Options{}
	keys := map[uint8]string{}
	w.pairs(n, path, func(k, v *yaml.Node) {
		p := child(path, k.Value)
		def, msg := optionKey(k.Value)
		switch {
		case msg != "":
			w.add(k.Line, p, fmt.Sprintf("%s: %s", p, msg))
			return
		case def.kind == kindOwned:
			w.add(k.Line, p, fmt.Sprintf("%s: option %d (%s) cannot be set: %s", p, def.code, def.name, def.reason))
			return
		}
		if first, dup := keys[def.code]; dup {
			w.add(k.Line, p, fmt.Sprintf("%s: same option as %s (both are option %d, %s); keep one", p, first, def.code, def.name))
			return
		}
		keys[def.code] = k.Value
		if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
			w.bad(k.Line, p, "has no value; give one or remove the key")
			return
		}
		if !w.usable(v, p) {
			return
		}
		data, ok := w.optionValue(def, v, p)
		if !ok {
			return
		}
		if len(data) > maxOptionLen {
			w.bad(v.Line, p, "encodes to %d bytes; an option holds at most %d (long options, RFC 3396, are not supported); shorten the value", len(data), maxOptionLen)
			return
		}
		opts[def.code] = data
		lines[def.code] = k.Line
	})
	return opts
}

// optionValue encodes one option value by its kind.
func (w *walker) optionValue(def optionDef, n *yaml.Node, path string) ([]byte, bool) {
	switch def.kind {
	case kindIPs:
		return w.listOption(n, path, func(s string) ([]byte, error) {
			a, err := parseIPv4(s)
			return a.AsSlice(), err
		})
	case kindDomainList:
		var names []string
		w.eachItem(n, path, func(s string, line int, p string) {
			names = append(names, s)
		})
		if len(names) == 0 {
			return nil, false
		}
		data, err := encodeDomainList(names)
		if err != nil {
			w.bad(n.Line, path, "%v", err)
			return nil, false
		}
		return data, true
	case kindRoutes:
		seen := map[netip.Prefix]bool{}
		return w.listOption(n, path, func(s string) ([]byte, error) {
			r, err := parseRoute(s)
			switch {
			case err != nil:
				return nil, err
			case seen[r.dest]:
				return nil, fmt.Errorf("a second route to %s; keep one", r.dest)
			}
			seen[r.dest] = true
			return r.encode(), nil
		})
	case kindGeneric:
		return w.genericOption(n, path)
	case kindInt32, kindUint8, kindUint16, kindUint32:
		return w.intOption(def, n, path)
	}
	s, ok := w.scalar(n, path)
	if !ok {
		return nil, false
	}
	data, msg := scalarOption(def.kind, n, s)
	if msg != "" {
		w.badValue(n.Line, path, s, "%s", msg)
		return nil, false
	}
	return data, true
}

// scalarOption encodes a single-valued option of a non-integer kind.
func scalarOption(kind optionKind, n *yaml.Node, s string) ([]byte, string) {
	switch kind {
	case kindIP:
		a, err := parseIPv4(s)
		if err != nil {
			return nil, err.Error()
		}
		return a.AsSlice(), ""
	case kindText:
		if s == "" {
			return nil, "empty; give the text or remove the option"
		}
		return []byte(s), ""
	case kindDomain:
		if err := checkDomain(s, true); err != nil {
			return nil, "not a domain name: " + err.Error()
		}
		return []byte(strings.TrimSuffix(s, ".")), ""
	case kindURI:
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" {
			return nil, "not a URI; write it with its scheme, like https://portal.example.net/"
		}
		return []byte(s), ""
	case kindBool:
		var b bool
		if n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			return nil, "must be true or false"
		}
		if b {
			return []byte{1}, ""
		}
		return []byte{0}, ""
	case kindHex:
		data, err := parseHex(s)
		if err != nil {
			return nil, err.Error()
		}
		return data, ""
	}
	return nil, "this option cannot be set"
}

// intOption encodes an integer option big-endian in its size.
func (w *walker) intOption(def optionDef, n *yaml.Node, path string) ([]byte, bool) {
	lo, hi, size := def.lo, def.hi, 4
	switch def.kind {
	case kindInt32:
		lo, hi = math.MinInt32, math.MaxInt32
	case kindUint8:
		size = 1
	case kindUint16:
		size = 2
	}
	if lo == 0 && hi == 0 {
		hi = int64(1)<<(8*size) - 1
	}
	v, ok := w.integer(n, path, lo, hi)
	if !ok {
		return nil, false
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(v))
	return b[4-size:], true
}

// genericOption encodes a numbered option without a known type: a list of
// IPv4 addresses (4 bytes each), a whole number (uint32 big-endian),
// "hex:..." (raw bytes), "text:..." (the text after the prefix) or any other
// text (its bytes).
func (w *walker) genericOption(n *yaml.Node, path string) ([]byte, bool) {
	if n.Kind == yaml.SequenceNode {
		return w.listOption(n, path, func(s string) ([]byte, error) {
			a, err := parseIPv4(s)
			if err != nil {
				return nil, fmt.Errorf("a list must hold IPv4 addresses; for other data write one value, such as hex:0a0b0c")
			}
			return a.AsSlice(), nil
		})
	}
	s, ok := w.scalar(n, path)
	if !ok {
		return nil, false
	}
	switch tag := n.ShortTag(); {
	case tag == "!!int":
		v, ok := w.integer(n, path, 0, math.MaxUint32)
		if !ok {
			return nil, false
		}
		return binary.BigEndian.AppendUint32(nil, uint32(v)), true
	case tag != "!!str":
		w.badValue(n.Line, path, s, "YAML reads this as %s; quote it to send it as text, or write a whole number or hex:...", strings.TrimPrefix(tag, "!!"))
		return nil, false
	case strings.HasPrefix(s, "hex:"):
		data, err := parseHex(s)
		if err != nil {
			w.badValue(n.Line, path, s, "%v", err)
			return nil, false
		}
		return data, true
	case strings.HasPrefix(s, "text:"):
		return []byte(strings.TrimPrefix(s, "text:")), true
	}
	if a, err := parseIPv4(s); err == nil {
		w.badValue(n.Line, path, s, "looks like an IPv4 address; write [%s] to send its 4 bytes, or \"text:%s\" to send the text", a, s)
		return nil, false
	}
	return []byte(s), true
}

// listOption encodes a list (or a single value) item by item and
// concatenates the results.
func (w *walker) listOption(n *yaml.Node, path string, encode func(string) ([]byte, error)) ([]byte, bool) {
	var out []byte
	ok := true
	count := 0
	w.eachItem(n, path, func(s string, line int, p string) {
		data, err := encode(s)
		if err != nil {
			w.badValue(line, p, s, "%v", err)
			ok = false
			return
		}
		out = append(out, data...)
		count++
	})
	return out, ok && count > 0
}

// eachItem calls fn for each scalar of a list, or once for a lone scalar;
// an empty list is an error.
func (w *walker) eachItem(n *yaml.Node, path string, fn func(s string, line int, path string)) {
	if n.Kind == yaml.ScalarNode {
		fn(n.Value, n.Line, path)
		return
	}
	if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		w.bad(n.Line, path, "empty list; give at least one value or remove the option")
		return
	}
	w.sequence(n, path, func(item *yaml.Node, p string) {
		if s, ok := w.scalar(item, p); ok {
			fn(s, item.Line, p)
		}
	})
}
