package prefectimport

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// Limits are the limits a Prefect server keeps, which prefect.yaml does
// not hold: pools (concurrency limit, paused, queues with priority and
// limit) and tag concurrency limits, for Options.Pools and TagLimits.
type Limits struct {
	Pools             []v1alpha1.Pool     `json:"pools"`
	ConcurrencyLimits []v1alpha1.TagLimit `json:"concurrencyLimits"`
}

// ReadLimits reads a limits file (pools: and concurrencyLimits: as in
// flows.yaml); name names it in errors.
func ReadLimits(name string, data []byte) (*Limits, error) {
	l := &Limits{}
	if err := yaml.UnmarshalStrict(data, l); err != nil {
		return nil, fmt.Errorf("%s: %v (want pools: and concurrencyLimits: as in flows.yaml)", name, err)
	}
	return l, nil
}

// pool is the pool of that name, added when there is none.
func (l *Limits) pool(name string) *v1alpha1.Pool {
	for i := range l.Pools {
		if l.Pools[i].Name == name {
			return &l.Pools[i]
		}
	}
	l.Pools = append(l.Pools, v1alpha1.Pool{Name: name})
	return &l.Pools[len(l.Pools)-1]
}

// SetPool sets a pool's limit from POOL=N (flag names it in errors).
func (l *Limits) SetPool(flag, kv string) error {
	name, n, err := limitFlag(flag, "POOL=N", kv)
	if err != nil {
		return err
	}
	l.pool(name).ConcurrencyLimit = &n
	return nil
}

// SetQueue sets a queue's limit from POOL/QUEUE=N.
func (l *Limits) SetQueue(flag, kv string) error {
	name, n, err := limitFlag(flag, "POOL/QUEUE=N", kv)
	if err != nil {
		return err
	}
	pn, qn, ok := strings.Cut(name, "/")
	if !ok || pn == "" || qn == "" {
		return fmt.Errorf("%s %q: want POOL/QUEUE=N", flag, kv)
	}
	p := l.pool(pn)
	if q := p.Queue(qn); q != nil {
		q.ConcurrencyLimit = &n
	} else {
		p.Queues = append(p.Queues, v1alpha1.Queue{Name: qn, ConcurrencyLimit: &n})
	}
	return nil
}

// SetTag sets a tag's limit from TAG=N.
func (l *Limits) SetTag(flag, kv string) error {
	tag, n, err := limitFlag(flag, "TAG=N", kv)
	if err != nil {
		return err
	}
	for i := range l.ConcurrencyLimits {
		if l.ConcurrencyLimits[i].Tag == tag {
			l.ConcurrencyLimits[i].Limit = n
			return nil
		}
	}
	l.ConcurrencyLimits = append(l.ConcurrencyLimits, v1alpha1.TagLimit{Tag: tag, Limit: n})
	return nil
}

func limitFlag(flag, form, kv string) (string, int32, error) {
	k, v, ok := strings.Cut(kv, "=")
	n, err := strconv.ParseInt(v, 10, 32)
	if !ok || k == "" || err != nil || n < 0 {
		return "", 0, errors.New(flag + " " + strconv.Quote(kv) + ": want " + form + " with N a whole number, 0 or more")
	}
	return k, int32(n), nil
}
