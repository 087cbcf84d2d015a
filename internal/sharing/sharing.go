// Package sharing holds the table the reconciler's caches share equal
// values through: with ten thousand runs waiting, what each run keeps is
// paid ten thousand times, and runs submitted alike keep equal labels,
// data and decoded requests.
package sharing

import "sync"

// MaxEntries and MaxBytes bound what a Table keeps for objects that have
// gone: what the cached objects carry is a submitter's, and a run's
// status holds the second it was written, so keys are not bounded.
// Callers share only values whose keys hold at most MaxBytes, so a table
// keeps at most MaxEntries × MaxBytes (1 MiB) of keys.
const (
	MaxEntries = 1024
	MaxBytes   = 1024
)

// Table hands out one value per key: the first one made for it. Values
// handed out must be read only, as every holder sees the same one. Once it
// holds MaxEntries it starts afresh; the values handed out stay with
// their holders, and equal keys share again from then on. The zero Table
// is ready to use.
type Table[K comparable, V any] struct {
	mu      sync.Mutex
	entries map[K]V
}

// Get is the value shared under k, made by build the first time.
func (t *Table[K, V]) Get(k K, build func() V) V {
	t.mu.Lock()
	defer t.mu.Unlock()
	if v, ok := t.entries[k]; ok {
		return v
	}
	if t.entries == nil || len(t.entries) >= MaxEntries {
		t.entries = map[K]V{}
	}
	v := build()
	t.entries[k] = v
	return v
}

// Len is how many keys the table holds.
func (t *Table[K, V]) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}
