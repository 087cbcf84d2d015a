package harness

import "testing"

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
