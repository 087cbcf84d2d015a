package harness

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

// Profiled are the components CPUProfile can profile: the API server
// through its own API, etcd on its client URL and kube-controller-manager
// on its secure port, whose /debug/pprof paths need no authorization on
// this loopback control plane (it has no authorization kubeconfig to ask
// the API server with).
var Profiled = []string{"kube-apiserver", "etcd", "kube-controller-manager"}

// ProfilingEnv, set to 1 before a control plane starts, turns profiling
// on in the Profiled components. Profiling costs little and serves the
// benchmark's look into where a burst's time goes; it is off unless asked
// for.
const ProfilingEnv = "KUBECTL_FLOWS_HARNESS_PROFILING"

func profilingAsked() bool { return os.Getenv(ProfilingEnv) == "1" }

// CPUProfile takes a CPU profile of one of the Profiled components over
// the next d, as `go tool pprof` reads it. The control plane must have
// started with ProfilingEnv set.
func (cp *ControlPlane) CPUProfile(ctx context.Context, component string, d time.Duration) ([]byte, error) {
	if !cp.profiling {
		return nil, fmt.Errorf("no CPU profile of %s: profiling is off (set %s=1 before the control plane starts)", component, ProfilingEnv)
	}
	seconds := strconv.Itoa(max(int(d.Seconds()), 1))
	switch component {
	case "kube-apiserver":
		return cp.Client.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").Param("seconds", seconds).DoRaw(ctx)
	case "etcd":
		return getProfile(ctx, http.DefaultClient, cp.env.ControlPlane.Etcd.URL.String()+"/debug/pprof/profile?seconds="+seconds)
	case "kube-controller-manager":
		port := cp.servingPort(component)
		if port == 0 {
			return nil, fmt.Errorf("%s is not running", component)
		}
		client := loopbackClient(0)
		defer client.CloseIdleConnections()
		return getProfile(ctx, client, fmt.Sprintf("https://127.0.0.1:%d/debug/pprof/profile?seconds=%s", port, seconds))
	}
	return nil, fmt.Errorf("no CPU profile of %q: the harness profiles %v", component, Profiled)
}

func getProfile(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %.200s", url, resp.Status, body)
	}
	return body, nil
}

// servingPort is the secure port of a running component started by
// startServing; 0 if there is none.
func (cp *ControlPlane) servingPort(name string) int {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for _, p := range cp.procs {
		if p.name == name && !p.exited() {
			return p.port
		}
	}
	return 0
}
