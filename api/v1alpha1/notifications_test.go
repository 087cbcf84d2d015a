package v1alpha1

import (
	"strings"
	"testing"
)

func TestSignature(t *testing.T) {
	key, body := []byte("s3cret"), []byte(`{"key":"5d1e/Failed"}`)
	sig := SignNotification(key, body)
	// The value a receiver computes with any HMAC-SHA256:
	// printf '%s' '{"key":"5d1e/Failed"}' | openssl dgst -sha256 -hmac s3cret
	if want := "sha256=e9dfb317ffe0ba0f925c9f3723d090ec76ef1def54c0f727aa03159f8d6ab00a"; sig != want {
		t.Fatalf("signature %q, want %q", sig, want)
	}
	for _, tc := range []struct {
		name      string
		key, body []byte
		header    string
		ok        bool
	}{
		{"as signed", key, body, sig, true},
		{"another body", key, []byte(`{"key":"5d1e/Crashed"}`), sig, false},
		{"another key", []byte("other"), body, sig, false},
		{"no prefix", key, body, strings.TrimPrefix(sig, "sha256="), false},
		{"empty", key, body, "", false},
	} {
		if got := VerifyNotification(tc.key, tc.body, tc.header); got != tc.ok {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.ok)
		}
	}
	if k := NotificationKey("5d1e", "SLA/maxDuration"); k != "5d1e/SLA/maxDuration" {
		t.Error(k)
	}
}
