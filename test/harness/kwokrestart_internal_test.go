package harness

import "testing"

func TestPodWatchCount(t *testing.T) {
	for _, c := range []struct {
		name    string
		metrics string
		want    int
	}{
		{"none", "# HELP apiserver_longrunning_requests x\n", 0},
		{"cluster pod watches summed over versions", `apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="WATCH",version="v1"} 3
apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="WATCH",version="v2"} 1
`, 4},
		{"namespaced, other resources and other verbs left out", `apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="WATCH",version="v1"} 5
apiserver_longrunning_requests{component="apiserver",group="batch",resource="jobs",scope="cluster",subresource="",verb="WATCH",version="v1"} 2
apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="cluster",subresource="log",verb="CONNECT",version="v1"} 1
apiserver_longrunning_requests_total{resource="pods",scope="cluster",verb="WATCH"} 9
apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="WATCH",version="v1"} 2
`, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := podWatchCount([]byte(c.metrics)); got != c.want {
				t.Errorf("podWatchCount = %d, want %d", got, c.want)
			}
		})
	}
}
