// Package parallel runs independent pieces of one command's work on every
// core: render and review handle a thousand deployments one by one.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Each calls f(i) for every i in [0, n), on GOMAXPROCS goroutines, and
// returns when all calls have. Calls may run in any order and at once:
// each f(i) must only write what is its own (the i-th element of a slice).
// Workers take the next index from a counter, so none waits for another
// to hand it work.
func Each(n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		}()
	}
	wg.Wait()
}
