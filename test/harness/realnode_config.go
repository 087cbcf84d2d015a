package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// containerdConfig is `containerd config default` with everything that
// would touch the machine's own containerd (root, state, socket, runc state,
// temporary mounts) moved under dir, and what containers need here:
//
//   - restrict_oom_score_adj: root in these sandboxes lacks CAP_SYS_RESOURCE,
//     and without it every sandbox fails with runc's "can't get final
//     child's PID from pipe: EOF";
//   - netns_mounts_under_state_dir: the pods' network namespaces are bind
//     mounts under dir, not /run/netns, so teardown finds them;
//   - the pause image built here as sandbox image (nothing is pulled);
//   - CNI plugins from Debian's package, the harness's config in dir;
//   - cgroupfs, as the kubelet (SystemdCgroup false).
func containerdConfig(dir, sock string) ([]byte, error) {
	out, err := exec.Command("containerd", "config", "default").Output()
	if err != nil {
		return nil, fmt.Errorf("containerd config default: %w", err)
	}
	cd := filepath.Join(dir, "containerd")
	const cri = `plugins."io.containerd.grpc.v1.cri"`
	return editTOML(out, map[string]map[string]string{
		"": {
			"root":  strconv.Quote(filepath.Join(cd, "root")),
			"state": strconv.Quote(filepath.Join(cd, "state")),
			"temp":  strconv.Quote(filepath.Join(cd, "tmp")),
		},
		"grpc": {"address": strconv.Quote(sock)},
		cri: {
			"sandbox_image":                strconv.Quote(PauseImage),
			"restrict_oom_score_adj":       "true",
			"netns_mounts_under_state_dir": "true",
		},
		cri + ".cni": {
			"bin_dir":  strconv.Quote(cniBinDir),
			"conf_dir": strconv.Quote(filepath.Join(dir, "cni", "net.d")),
		},
		cri + ".containerd.runtimes.runc.options": {
			"SystemdCgroup": "false",
			"Root":          strconv.Quote(filepath.Join(cd, "runc")),
		},
		`plugins."io.containerd.internal.v1.opt"`: {"path": strconv.Quote(filepath.Join(cd, "opt"))},
	})
}

// editTOML sets keys of a TOML file, section by section ("" is the top
// level), keeping the rest as it is. Every key must already be there: a
// containerd whose default config lacks one is not one this was written
// for, and a silently ignored setting would send containers to the host's
// own paths.
func editTOML(in []byte, set map[string]map[string]string) ([]byte, error) {
	done := map[string]bool{}
	section := ""
	lines := strings.Split(string(in), "\n")
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
			section = strings.TrimSpace(strings.Trim(t, "[]"))
			continue
		}
		key, _, ok := strings.Cut(t, "=")
		key = strings.TrimSpace(key)
		if !ok || set[section] == nil {
			continue
		}
		if v, ok := set[section][key]; ok {
			indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
			lines[i] = indent + key + " = " + v
			done[section+"\x00"+key] = true
		}
	}
	var missing []string
	for section, kv := range set {
		for key := range kv {
			if !done[section+"\x00"+key] {
				missing = append(missing, fmt.Sprintf("%s in [%s]", key, section))
			}
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("containerd's default config has no %s (a containerd other than Debian's 1.6?)", strings.Join(missing, ", "))
	}
	return []byte(strings.Join(lines, "\n")), nil
}

// writeCNIConfig writes the pod network: a bridge on the harness's bridge
// (the node is its gateway; no masquerading: pods reach nothing beyond this
// host) with addresses from the node's own /24, the node IP its gateway,
// and loopback.
func writeCNIConfig(dir string, rn *RealNode) error {
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       rn.state.Network,
		"plugins": []any{
			map[string]any{
				"type":        "bridge",
				"bridge":      rn.state.Bridge,
				"isGateway":   true,
				"ipMasq":      false,
				"hairpinMode": true,
				"ipam": map[string]any{
					"type":    "host-local",
					"ranges":  [][]map[string]string{{{"subnet": rn.PodSubnet, "gateway": rn.IP}}},
					"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
					"dataDir": filepath.Join(dir, "cni", "ipam"),
				},
			},
			map[string]any{"type": "loopback"},
		},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	confDir := filepath.Join(dir, "cni", "net.d")
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(confDir, "10-harness.conflist"), data, 0o644)
}

// kubeletConfig is the real node's KubeletConfiguration. What is not the
// default, and why:
//
//   - failCgroupV1 false, cgroupDriver cgroupfs: hosts like these have only
//     cgroup v1 hierarchies and no systemd;
//   - its own cgroupRoot, ports and directories: several control planes may
//     run a real node each at once;
//   - anonymous authentication and AlwaysAllow: the API server calls it
//     (logs, exec) with no client certificate of its own;
//   - resolvConf "": pods get no DNS (there is none to give);
//   - image GC at 100/99 percent: images come from the harness only and
//     cannot be pulled again once collected;
//   - eviction only when disk or memory is nearly gone: a test machine's
//     disk is fuller than a node's;
//   - the real-node taint when kwok nodes run beside it.
func kubeletConfig(dir string, rn *RealNode, port, healthzPort int, tainted bool) []byte {
	taints := "[]"
	if tainted {
		taints = fmt.Sprintf("[{key: %q, value: \"true\", effect: NoSchedule}]", TaintRealNode)
	}
	return fmt.Appendf(nil, `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: %q
containerRuntimeEndpoint: %q
address: %q
port: %d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %d
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization:
  mode: AlwaysAllow
resolvConf: ""
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {"memory.available": "50Mi", "nodefs.available": "1%%", "imagefs.available": "1%%", "nodefs.inodesFree": "1%%"}
failSwapOn: false
podLogsDir: %q
registerWithTaints: %s
kubeAPIQPS: 50
kubeAPIBurst: 100
serializeImagePulls: false
`, rn.state.CgroupRoot, "unix://"+rn.ContainerdAddress, rn.IP, port, healthzPort, filepath.Join(dir, "pod-logs"), taints)
}
