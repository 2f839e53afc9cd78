package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error is one problem found in a configuration file. Load and Parse return
// every problem they find joined with errors.Join, in line order; errors.As
// yields the first.
type Error struct {
	File string // the file Load read; "" for Parse
	Line int    // 1-based line of the offending key or value; 0 when the file as a whole is at fault
	Path string // field path such as "scopes[0].pools[1]"; "" for the file as a whole
	Msg  string // the problem and its fix, naming Path
}

// Error formats the problem as `config: line 12: scopes[0].pools[1] "...": ...`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config")
	if e.File != "" {
		b.WriteString(" ")
		b.WriteString(e.File)
	}
	b.WriteString(": ")
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// maxErrors bounds how many problems one Parse reports, so that a garbage
// file gives a readable answer.
const maxErrors = 50

// problems collects the errors of one Parse.
type problems struct {
	file string
	list []*Error
}

// add records a problem whose message is already complete.
func (p *problems) add(line int, path, msg string) {
	p.list = append(p.list, &Error{File: p.file, Line: line, Path: path, Msg: msg})
}

// bad records `path: msg`.
func (p *problems) bad(line int, path, format string, args ...any) {
	p.add(line, path, label(path)+": "+fmt.Sprintf(format, args...))
}

// badValue records `path "value": msg`.
func (p *problems) badValue(line int, path, value, format string, args ...any) {
	p.add(line, path, fmt.Sprintf("%s %q: ", label(path), value)+fmt.Sprintf(format, args...))
}

// err returns the collected problems in line order, or nil.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	sort.SliceStable(p.list, func(i, j int) bool { return p.list[i].Line < p.list[j].Line })
	list := p.list
	var more int
	if len(list) > maxErrors {
		more = len(list) - maxErrors
		list = list[:maxErrors]
	}
	errs := make([]error, 0, len(list)+1)
	for _, e := range list {
		errs = append(errs, e)
	}
	if more > 0 {
		errs = append(errs, fmt.Errorf("config: %d more problems not shown; fix the ones above first", more))
	}
	return errors.Join(errs...)
}

// label names a path in messages; the root has no path.
func label(path string) string {
	if path == "" {
		return "the file"
	}
	return path
}
