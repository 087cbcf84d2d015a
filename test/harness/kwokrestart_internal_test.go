package harness

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodWatchCount(t *testing.T) {
	const family = "# TYPE apiserver_longrunning_requests gauge\n"
	for _, c := range []struct {
		name    string
		metrics string
		want    int
	}{
		{"none", "# HELP apiserver_longrunning_requests x\n", 0},
		{"cluster pod watches summed over versions", family + `apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="WATCH",version="v1"} 3
apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="WATCH",version="v2"} 1
`, 4},
		{"namespaced, other resources and other verbs left out", family + `apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="WATCH",version="v1"} 5
apiserver_longrunning_requests{component="apiserver",group="batch",resource="jobs",scope="cluster",subresource="",verb="WATCH",version="v1"} 2
apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="cluster",subresource="log",verb="CONNECT",version="v1"} 1
apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="WATCH",version="v1"} 2
# TYPE apiserver_longrunning_requests_total counter
apiserver_longrunning_requests_total{resource="pods",scope="cluster",verb="WATCH"} 9
`, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			fams, err := parseMetrics([]byte(c.metrics))
			if err != nil {
				t.Fatal(err)
			}
			if got := podWatchCount(fams); got != c.want {
				t.Errorf("podWatchCount = %d, want %d", got, c.want)
			}
		})
	}
}

func TestLeaseRenewed(t *testing.T) {
	created := time.Date(2026, 12, 7, 23, 55, 30, 0, time.UTC)
	holder := "kwok_1"
	lease := func(holder *string, renewed *time.Time) *coordinationv1.Lease {
		l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(created)}}
		l.Spec.HolderIdentity = holder
		if renewed != nil {
			l.Spec.RenewTime = &metav1.MicroTime{Time: *renewed}
		}
		return l
	}
	at := func(d time.Duration) *time.Time { t := created.Add(d); return &t }
	for _, c := range []struct {
		name  string
		lease *coordinationv1.Lease
		want  bool
	}{
		{"as created: renewal time within the creation's second", lease(&holder, at(900*time.Millisecond)), false},
		{"renewed a quarter of 40 s on", lease(&holder, at(10*time.Second)), true},
		{"no holder", lease(nil, at(10*time.Second)), false},
		{"no renewal time", lease(&holder, nil), false},
	} {
		if got := leaseRenewed(c.lease); got != c.want {
			t.Errorf("%s: leaseRenewed = %v, want %v", c.name, got, c.want)
		}
	}
}
