package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubectl-flows/kubectl-flows/test/fixture"
	"github.com/kubectl-flows/kubectl-flows/test/harness"
)

// commandRuns is how often each command is timed, alternating with its
// baseline: on two shared cores one run says little, so each figure is
// the median, with the range beside it.
const commandRuns = 7

// render times the whole `kubectl flows render` and `kubectl flows review`
// commands on 1,000 deployments, each beside the same command on a
// project of two: render into an empty directory (a first render), render
// over the previous render (the everyday one: edit, render, commit), and
// review of a change to one deployment against the commit before it.
func (b *bench) render(ctx context.Context) error {
	fmt.Println("render and review: 1,000 deployments")
	dir, err := os.MkdirTemp(b.dir, "render-")
	if err != nil {
		return err
	}
	root, err := harness.RepoRoot()
	if err != nil {
		return err
	}
	hello := filepath.Join(root, "examples", "hello", "flows.yaml")
	large := filepath.Join(dir, "flows.yaml")
	if err := os.WriteFile(large, []byte(fixture.LargeProject(1000)), 0o644); err != nil {
		return err
	}
	run := 0
	fresh := func(file string) func() error {
		return func() error {
			run++
			return b.flows(ctx, "", 0, "render", "-f", file, "-o", filepath.Join(dir, fmt.Sprintf("fresh-%d", run)), "--ext-str", "gitSha=bench")
		}
	}
	again := func(file, out string) func() error {
		return func() error {
			return b.flows(ctx, "", 0, "render", "-f", file, "-o", filepath.Join(dir, out), "--ext-str", "gitSha=bench")
		}
	}
	helloFirst, largeFirst, err := timeCommands(ctx, fresh(hello), fresh(large))
	if err != nil {
		return err
	}
	b.add(row{
		figure: "`kubectl flows render`, 1,000 deployments, into an empty directory", baseline: helloFirst.seconds(), flows: largeFirst.seconds(),
		target: "≤0.5 s: " + largeFirst.verdict(0.5), note: fmt.Sprintf("whole command, median of %d alternating with the baseline (range), once the machine was idle; baseline: the 2-deployment hello project", commandRuns),
	})
	if err := again(hello, "hello-again")(); err != nil {
		return err
	}
	if err := again(large, "large-again")(); err != nil {
		return err
	}
	helloAgain, largeAgain, err := timeCommands(ctx, again(hello, "hello-again"), again(large, "large-again"))
	if err != nil {
		return err
	}
	b.add(row{
		figure: "`kubectl flows render`, 1,000 deployments, over the previous render", baseline: helloAgain.seconds(), flows: largeAgain.seconds(),
		target: "≤0.5 s: " + largeAgain.verdict(0.5), note: "the same, into a directory that holds the render already: every file read and compared, none written",
	})
	small, err := reviewRepo(ctx, filepath.Join(dir, "review-2"), 2)
	if err != nil {
		return err
	}
	big, err := reviewRepo(ctx, filepath.Join(dir, "review-1000"), 1000)
	if err != nil {
		return err
	}
	review := func(repo string) func() error {
		return func() error { return b.flows(ctx, repo, 1, "review", "-f", "flows.yaml") }
	}
	smallReview, bigReview, err := timeCommands(ctx, review(small), review(big))
	if err != nil {
		return err
	}
	b.add(row{
		figure: "`kubectl flows review`, a change to one of 1,000 deployments", baseline: smallReview.seconds(), flows: bigReview.seconds(),
		target: "≤1 s: " + bigReview.verdict(1), note: "whole command against the commit before the change (git, both renders, the comparison); baseline: the same change to one of 2 deployments",
	})
	return nil
}

// reviewRepo makes a git repository at dir whose commit holds
// LargeProject(n) and whose working tree changes one deployment of it.
func reviewRepo(ctx context.Context, dir string, n int) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	git := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-c", "user.name=bench", "-c", "user.email=bench@example.invalid"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	file := filepath.Join(dir, "flows.yaml")
	if err := os.WriteFile(file, []byte(fixture.LargeProject(n)), 0o644); err != nil {
		return "", err
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "flows.yaml"}, {"commit", "-q", "-m", "base"}} {
		if err := git(args...); err != nil {
			return "", err
		}
	}
	return dir, os.WriteFile(file, []byte(fixture.LargeProjectChanged(n, n/2)), 0o644)
}

// flows runs kubectl-flows in dir ("" for the current directory); exit
// status want is success (review exits 1 when there are changes). A review
// must find the one change made.
func (b *bench) flows(ctx context.Context, dir string, want int, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(b.bin, "kubectl-flows"), args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil && want == 0:
	case errors.As(err, &exit) && exit.ExitCode() == want:
	default:
		return fmt.Errorf("kubectl-flows %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	if args[0] == "review" && !strings.Contains(stdout.String(), ": 1 change\n") {
		return fmt.Errorf("review found other than the one change made:\n%s", stdout.String())
	}
	return nil
}

// timeCommands times baseline and flows commandRuns times each, taking
// turns (the shared method of rounds.go), once the machine is idle: each
// command takes under a few seconds, so the machine is checked once for
// all of them rather than before each.
func timeCommands(ctx context.Context, baseline, flows func() error) (spread, spread, error) {
	idle, err := waitIdle(ctx)
	if err != nil {
		return spread{}, spread{}, err
	}
	fmt.Printf("  machine %s\n", idle)
	timed := func(f func() error) func(context.Context, func() error) (time.Duration, error) {
		return func(context.Context, func() error) (time.Duration, error) {
			t0 := time.Now()
			err := f()
			return time.Since(t0), err
		}
	}
	rounds, err := alternate(ctx, "", commandRuns, []side[time.Duration]{{sideBaseline, timed(baseline)}, {sideFlows, timed(flows)}})
	if err != nil {
		return spread{}, spread{}, err
	}
	seconds := func(d time.Duration) float64 { return d.Seconds() }
	return values(rounds, sideBaseline, seconds), values(rounds, sideFlows, seconds), nil
}
