package config

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

const day = 24 * time.Hour

// parseDuration reads a Go duration ("8h", "1h30m"), a number of days with an
// optional Go duration after it ("7d", "1d12h"), or whole seconds ("3600").
func parseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration; write e.g. 8h, 7d or 3600 (seconds)")
	}
	if digitsOnly(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > math.MaxInt64/int64(time.Second) {
			return 0, errors.New("too many seconds; write a shorter duration")
		}
		return Duration(time.Duration(n) * time.Second), nil
	}
	var total time.Duration
	rest := s
	if i := strings.IndexByte(s, 'd'); i > 0 && digitsOnly(s[:i]) {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n > int64(math.MaxInt64/day) {
			return 0, errors.New("too many days; write a shorter duration")
		}
		total = time.Duration(n) * day
		rest = s[i+1:]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil {
			return 0, errors.New("not a duration; write e.g. 90s, 8h, 1h30m, 7d, 1d12h or 3600 (seconds)")
		}
		if d < 0 {
			return 0, errors.New("negative duration; write a positive one")
		}
		if total > math.MaxInt64-d {
			return 0, errors.New("duration too long; write a shorter one")
		}
		total += d
	}
	return Duration(total), nil
}

// digitsOnly reports whether s is a non-empty run of ASCII digits.
func digitsOnly(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String writes the duration the way the file may: whole days as "7d", other
// values as Go durations ("8h0m0s").
func (d Duration) String() string {
	if d > 0 && time.Duration(d)%day == 0 {
		return strconv.FormatInt(int64(time.Duration(d)/day), 10) + "d"
	}
	return time.Duration(d).String()
}
