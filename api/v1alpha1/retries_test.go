package v1alpha1

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A retry policy's on survives deployment.yaml: YAML 1.1 would read an
// unquoted on as true, so it must be written quoted.
func TestRetryPolicyRoundTrip(t *testing.T) {
	two := 2.0
	d := &Deployment{Flow: "f", Name: "a", Pool: "p", Entrypoint: "x.py:f",
		Retries: &RetryPolicy{Attempts: 3, Delay: &metav1.Duration{Duration: 30 * time.Second}, Backoff: &two, On: []string{OutcomeCrashed, OutcomeEvicted}, NeverOnExitCodes: []int32{3}},
		Timeout: &metav1.Duration{Duration: time.Hour}}
	data, err := EncodeDeployment(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(data, `"on":`) {
		t.Errorf("on is not quoted:\n%s", data)
	}
	got, err := DecodeDeployment(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}, Data: map[string]string{KeyDeployment: data}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, d) {
		t.Errorf("read back %+v\nwant %+v\nfrom:\n%s", got, d, data)
	}
}

func TestRetryPolicyDelays(t *testing.T) {
	f := 2.0
	p := &RetryPolicy{Attempts: 10, Delay: &metav1.Duration{Duration: 10 * time.Second}, Backoff: &f, MaxDelay: &metav1.Duration{Duration: time.Minute}}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, time.Minute, time.Minute}
	for i, w := range want {
		if got := p.DelayAfter(int32(i + 1)); got != w {
			t.Errorf("delay after attempt %d: %v, want %v", i+1, got, w)
		}
	}
	if got := (&RetryPolicy{Attempts: 2}).DelayAfter(1); got != DefaultRetryDelay {
		t.Errorf("default delay %v, want %v", got, DefaultRetryDelay)
	}
	huge := 100.0
	if got := (&RetryPolicy{Attempts: 100, Backoff: &huge}).DelayAfter(99); got <= 0 {
		t.Errorf("an uncapped growing delay overflowed: %v", got)
	}
}
