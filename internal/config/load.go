package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Load reads the configuration file at path and parses it like Parse; its
// errors name the file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parse(data, path)
}

// Parse decodes a configuration file strictly, fills in defaults and
// validates the result, which is always a valid configuration. Otherwise it
// returns every problem found, each an *Error, joined with errors.Join.
func Parse(data []byte) (*Config, error) {
	return parse(data, "")
}

// Defaults that the types.go comments promise.
const (
	DefaultDataDir        = "/var/lib/xdhcp"
	DefaultControlSocket  = "/run/xdhcp/xdhcpd.sock"
	DefaultMetricsListen  = "127.0.0.1:9267"
	DefaultLeaseTime      = Duration(8 * time.Hour)
	DefaultOfferHold      = Duration(10 * time.Second)
	DefaultDeclineHold    = Duration(24 * time.Hour)
	DefaultCommitBatch    = 512
	DefaultCommitDelay    = Duration(time.Millisecond)
	DefaultCacheThreshold = 25 // percent, as ISC dhcpd's dhcp-cache-threshold
	DefaultRateTableSize  = 65536
	DefaultSourcePPS      = 20 // per source: a handful of devices behind one port, each a few packets a second
)

// defaults returns a Config holding every default; decoding overwrites what
// the file sets.
func defaults() *Config {
	return &Config{
		Server: Server{
			DataDir:               DefaultDataDir,
			ControlSocket:         DefaultControlSocket,
			MetricsListen:         DefaultMetricsListen,
			LogLevel:              "info",
			LogFormat:             "console",
			OfferHold:             DefaultOfferHold,
			DeclineHold:           DefaultDeclineHold,
			Workers:               4 * runtime.GOMAXPROCS(0),
			CommitBatch:           DefaultCommitBatch,
			CommitDelay:           DefaultCommitDelay,
			CacheThresholdPercent: DefaultCacheThreshold,
		},
		Options: Options{},
		Dataplane: Dataplane{
			Mode:        DataplaneAuto,
			RateLimit:   RateLimit{TableSize: DefaultRateTableSize},
			SourceLimit: SourceLimit{PPS: DefaultSourcePPS, TableSize: DefaultRateTableSize},
		},
	}
}

// parse is Parse with the file name for messages.
func parse(data []byte, file string) (*Config, error) {
	root, err := parseYAML(data)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = syntaxError(err)
			if tabIndented(data, e.Line) {
				e.Msg += "; indent with spaces, YAML does not allow tabs"
			}
		}
		e.File = file
		return nil, e
	}
	w := &walker{problems: problems{file: file}}
	cfg := defaults()
	m := &meta{globalLines: map[uint8]int{}}
	w.config(root, cfg, m)
	w.validate(cfg, m)
	if err := w.err(); err != nil {
		return nil, err
	}
	mergeOptions(cfg)
	return cfg, nil
}

// parseYAML reads exactly one YAML document into a node tree.
func parseYAML(data []byte) (root *yaml.Node, err error) {
	defer func() {
		// A parser bug must not take the daemon down with a panic; the
		// input is refused instead.
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("the YAML parser failed on this file (%v); check its syntax", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty; it needs at least server.interfaces and one scope (see docs/examples/single.yaml)")
		}
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &Error{Line: extra.Line, Msg: "more than one YAML document (a second \"---\"); keep the whole configuration in one"}
	case !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("the file holds no settings; it needs at least server.interfaces and one scope")
	}
	return doc.Content[0], nil
}

// syntaxError turns a YAML parser error ("... yaml: line 3: did not find
// expected key") into an *Error carrying the line.
func syntaxError(err error) *Error {
	msg := err.Error()
	const marker = "yaml: line "
	i := strings.Index(msg, marker)
	if i < 0 {
		return &Error{Msg: msg}
	}
	num, rest, ok := strings.Cut(msg[i+len(marker):], ": ")
	line, convErr := strconv.Atoi(num)
	if !ok || convErr != nil {
		return &Error{Msg: msg}
	}
	if strings.HasPrefix(rest, "did not find expected") {
		// yaml.v3 numbers lines from 0 in its parser's (not its
		// scanner's) errors.
		line++
	}
	return &Error{Line: line, Msg: msg[:i] + rest}
}

// tabIndented reports whether the 1-based line of data starts with
// whitespace that holds a tab.
func tabIndented(data []byte, line int) bool {
	lines := bytes.Split(data, []byte("\n"))
	if line < 1 || line > len(lines) {
		return false
	}
	l := lines[line-1]
	indent := l[:len(l)-len(bytes.TrimLeft(l, " \t"))]
	return bytes.IndexByte(indent, '\t') >= 0
}

// mergeOptions puts the global options under each scope's own: a scope's
// value for a code wins over the global one.
func mergeOptions(cfg *Config) {
	for i := range cfg.Scopes {
		s := &cfg.Scopes[i]
		merged := make(Options, len(cfg.Options)+len(s.Options))
		for code, v := range cfg.Options {
			merged[code] = bytes.Clone(v)
		}
		for code, v := range s.Options {
			merged[code] = v
		}
		s.Options = merged
	}
}
