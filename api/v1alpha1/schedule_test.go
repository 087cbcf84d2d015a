package v1alpha1

import "testing"

// TestScheduleDefaults: what an unset active, catchup and maxCatchup mean.
func TestScheduleDefaults(t *testing.T) {
	off, on, five := false, true, int32(5)
	for _, tc := range []struct {
		s      Schedule
		active bool
		policy string
		max    int32
	}{
		{Schedule{}, true, CatchUpLatest, DefaultMaxCatchup},
		{Schedule{Active: &on, CatchUp: CatchUpNone}, true, CatchUpNone, DefaultMaxCatchup},
		{Schedule{Active: &off, CatchUp: CatchUpAll, MaxCatchup: &five}, false, CatchUpAll, 5},
	} {
		if got := tc.s.IsActive(); got != tc.active {
			t.Errorf("%+v: IsActive = %v", tc.s, got)
		}
		if got := tc.s.CatchUpPolicy(); got != tc.policy {
			t.Errorf("%+v: CatchUpPolicy = %q", tc.s, got)
		}
		if got := tc.s.MaxCatchupOrDefault(); got != tc.max {
			t.Errorf("%+v: MaxCatchupOrDefault = %d", tc.s, got)
		}
	}
}
