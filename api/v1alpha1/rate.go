package v1alpha1

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is how many runs carrying a tag may start per period, on average
// (TagLimit.Rate): N starts per Per.
type Rate struct {
	N   int32
	Per time.Duration
}

// rateUnits are the short periods a rate may name.
var rateUnits = map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}

// ParseRate reads a rate as a tag limit writes it: N/s, N/m, N/h, or N
// over any Go duration (10/30s).
func ParseRate(s string) (Rate, error) {
	n, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Rate{}, fmt.Errorf("%s is not a rate: write starts/period, such as 10/m (per second s, minute m, hour h, or a duration: 5/30s)", QuoteInput(s))
	}
	count, err := strconv.ParseInt(n, 10, 32)
	if err != nil || count < 1 {
		return Rate{}, fmt.Errorf("%s: the number of starts must be a whole number of at least 1", QuoteInput(s))
	}
	d, ok := rateUnits[per]
	if !ok {
		if d, err = time.ParseDuration(per); err != nil || d <= 0 {
			return Rate{}, fmt.Errorf("%s: the period must be s, m, h or a positive duration such as 30s", QuoteInput(s))
		}
	}
	if d/time.Duration(count) < time.Millisecond {
		return Rate{}, fmt.Errorf("%s: more than one start per millisecond", QuoteInput(s))
	}
	return Rate{N: int32(count), Per: d}, nil
}

func (r Rate) String() string {
	for unit, d := range rateUnits {
		if r.Per == d {
			return fmt.Sprintf("%d/%s", r.N, unit)
		}
	}
	return fmt.Sprintf("%d/%s", r.N, r.Per)
}

// Interval is the average time between starts at the rate.
func (r Rate) Interval() time.Duration { return r.Per / time.Duration(r.N) }

// BurstOf is a tag limit's burst: 1 when it sets none.
func (l *TagLimit) BurstOf() int32 {
	if l.Burst == nil {
		return 1
	}
	return *l.Burst
}
