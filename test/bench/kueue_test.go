package main

import "testing"

func TestAPIWritesOf(t *testing.T) {
	w := writes{
		"jobs":              {"POST": 1000, "PATCH": 1000, "GET": 50, "WATCH": 3},
		"workloads/status":  {"APPLY": 2000},
		"workloads":         {"POST": 1000, "PUT": 1000, "LIST": 2},
		"pods":              {"DELETE": 10},
		"leases":            {"PUT": 90},
		"events":            {"POST": 11000, "PATCH": 2000},
		"selfsubjectreview": {"GET": 1},
	}
	objects, events := apiWritesOf(w)
	if objects != 6010 || events != 13000 {
		t.Fatalf("apiWritesOf = %d objects, %d events; want 6010 (server-side applies among them, leases and reads left out), 13000", objects, events)
	}
}

func TestExtraWrites(t *testing.T) {
	base := writes{"jobs": {"POST": 100, "PUT": 400}, "pods/status": {"PATCH": 300}}
	kq := writes{
		"jobs":             {"POST": 100, "PUT": 400, "PATCH": 100},
		"pods/status":      {"PATCH": 280},
		"workloads":        {"POST": 100},
		"workloads/status": {"APPLY": 200},
		"leases":           {"PUT": 50},
		"events":           {"POST": 900},
		"clusterqueues":    {"PUT": 3}, // 0.03 a Job: below what is listed
	}
	want := "APPLY workloads/status +2.00, PATCH jobs +1.00, POST workloads +1.00, PATCH pods/status -0.20"
	if got := extraWrites(kq, base, 100); got != want {
		t.Fatalf("extraWrites = %q, want %q", got, want)
	}
	if got := extraWrites(base, base, 100); got != "none" {
		t.Fatalf("extraWrites of the same writes = %q, want none", got)
	}
}
