package v1alpha1

import (
	"strings"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	cases := []struct {
		in   string
		want Rate
		str  string
		err  string
	}{
		{in: "10/m", want: Rate{10, time.Minute}, str: "10/m"},
		{in: "1/s", want: Rate{1, time.Second}, str: "1/s"},
		{in: " 3/h ", want: Rate{3, time.Hour}, str: "3/h"},
		{in: "5/30s", want: Rate{5, 30 * time.Second}, str: "5/30s"},
		{in: "10", err: "is not a rate"},
		{in: "0/m", err: "at least 1"},
		{in: "x/m", err: "at least 1"},
		{in: "10/d", err: "the period must be"},
		{in: "10/-1s", err: "the period must be"},
		{in: "5000/s", err: "more than one start per millisecond"},
	}
	for _, tc := range cases {
		got, err := ParseRate(tc.in)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseRate(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
			}
		case err != nil || got != tc.want || got.String() != tc.str:
			t.Errorf("ParseRate(%q) = %v (%s), %v; want %v (%s)", tc.in, got, got, err, tc.want, tc.str)
		}
	}
}
