// Package parallel runs independent pieces of one command's work on every
// core: render and review handle a thousand deployments one by one.
package parallel

import (
	"runtime"
	"sync"
)

// Each calls f(i) for every i in [0, n), on GOMAXPROCS goroutines, and
// returns when all calls have. Calls may run in any order and at once:
// each f(i) must only write what is its own (the i-th element of a slice).
func Each(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
