package reconciler

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// Whoever may submit runs may create ConfigMaps, and so may write any
// label, annotation or data key into a run request, status and state label
// included; but they may never update one (see the flows-submitter Role).
// The reconciler therefore takes a run's stored state as its own only when
// it carries the reconciler's signature: an HMAC, under a key only the
// reconciler can read, of the run's UID, its state label and its status.
// A run created with a forged state or status is, to the reconciler, a new
// run: it is admitted (or rejected) like any other, and its first status
// write replaces what the submitter wrote.

const (
	keySigningKey = "signing-key"
	keySchedules  = "schedules.json"
)

// State is the reconciler's durable state, kept in v1alpha1.StateSecretName.
type State struct {
	client kubernetes.Interface
	ns     string
	key    []byte

	signers sync.Pool // of *signer under key
	// verified is what State.trimRun keeps of a signature it checked and
	// found good, in place of the signature (see keepVerdict).
	verified string
	// verifiedOnly is the annotations of every cached run whose only one
	// kept is its good signature: one map, shared.
	verifiedOnly map[string]string
	mu           sync.Mutex
	secret       *corev1.Secret
	schedules    map[string]time.Time // schedule id -> last fired tick
}

// LoadState reads the reconciler's state Secret, creating it with a new
// random signing key the first time. Replicas racing to create it all end
// up with the one that landed.
func LoadState(ctx context.Context, client kubernetes.Interface, ns string) (*State, error) {
	secrets := client.CoreV1().Secrets(ns)
	for range 3 {
		s, err := secrets.Get(ctx, v1alpha1.StateSecretName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			key := make([]byte, 32)
			if _, err := rand.Read(key); err != nil {
				return nil, err
			}
			s = &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.StateSecretName, Namespace: ns},
				Data:       map[string][]byte{keySigningKey: key},
			}
			s, err = secrets.Create(ctx, s, metav1.CreateOptions{FieldManager: "flows-reconciler"})
			if apierrors.IsAlreadyExists(err) {
				continue
			}
		}
		if err != nil {
			return nil, fmt.Errorf("reading the reconciler's state Secret %s/%s: %w", ns, v1alpha1.StateSecretName, err)
		}
		return newState(client, ns, s)
	}
	return nil, fmt.Errorf("state Secret %s/%s: created and deleted concurrently", ns, v1alpha1.StateSecretName)
}

func newState(client kubernetes.Interface, ns string, s *corev1.Secret) (*State, error) {
	key := s.Data[keySigningKey]
	if len(key) < 16 {
		return nil, fmt.Errorf("state Secret %s/%s: %s is missing or shorter than 16 bytes; delete the Secret and the reconciler makes a new one (runs in flight are then taken as new)", ns, v1alpha1.StateSecretName, keySigningKey)
	}
	st := withVerdicts(&State{client: client, ns: ns, key: key, secret: s, schedules: map[string]time.Time{}})
	if raw := s.Data[keySchedules]; len(raw) > 0 {
		if err := json.Unmarshal(raw, &st.schedules); err != nil {
			return nil, fmt.Errorf("state Secret %s/%s: %s: %v", ns, v1alpha1.StateSecretName, keySchedules, err)
		}
	}
	return st, nil
}

// NewStateForTest builds a State with a fixed key and no Secret behind it.
func NewStateForTest(key []byte) *State {
	return withVerdicts(&State{key: key, schedules: map[string]time.Time{}})
}

// withVerdicts gives s its verdict of a good signature: random, so that
// no run written by anyone but this process's cache can carry it, and of
// another length than a signature, so that it is never taken for one.
func withVerdicts(s *State) *State {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	s.verified = "verified:" + base64.RawURLEncoding.EncodeToString(b)
	s.verifiedOnly = map[string]string{v1alpha1.AnnotationSignature: s.verified}
	return s
}

// unverified is what State.trimRun keeps of a signature it checked and
// found bad: no signature's length, so trusted needs no HMAC to refuse it.
const unverified = "unverified"

// keepVerdict replaces a cached run's signature by the verdict on it. A
// dispatch pass asks for the state of every waiting run (stateOf), an
// HMAC each time otherwise; and ten thousand waiting runs whose one kept
// annotation is a good signature share one map in place of ten thousand. The verdict holds for as long as the
// cached version does: the labels and status it covers are the cache's,
// and the next version is checked anew. Any other object (a Get, a test's
// own) carries a real signature and is checked each time.
func (s *State) keepVerdict(cm *corev1.ConfigMap) {
	if s == nil {
		return
	}
	if cm.Annotations[v1alpha1.AnnotationSignature] == "" {
		return
	}
	// signed, not trusted: a verdict that reached the API server (it
	// never does: every write signs afresh) is still no signature.
	verdict := unverified
	if s.signed(cm) {
		verdict = s.verified
	}
	if len(cm.Annotations) == 1 && verdict == s.verified {
		cm.Annotations = s.verifiedOnly
		return
	}
	cm.Annotations[v1alpha1.AnnotationSignature] = verdict
}

// sign is the signature of a run's state and status.
func (s *State) sign(uid types.UID, state v1alpha1.RunState, status string) string {
	var sig [sigLen]byte
	s.signInto(&sig, uid, state, status)
	return string(sig[:])
}

// sigLen is the length of a signature: a SHA-256 HMAC (32 bytes) in
// base64 (raw URL encoding).
const sigLen = 43

// signer is an HMAC under the key and a SHA-256 with their buffers,
// reused: every dispatch pass checks the signature of every waiting run,
// and with ten thousand waiting a new HMAC and its strings per check were
// a quarter of the reconciler's allocations.
type signer struct {
	mac, sum hash.Hash
	buf      []byte
}

// signInto writes the signature into sig.
func (s *State) signInto(sig *[sigLen]byte, uid types.UID, state v1alpha1.RunState, status string) {
	g, _ := s.signers.Get().(*signer)
	if g == nil {
		g = &signer{mac: hmac.New(sha256.New, s.key), sum: sha256.New(), buf: make([]byte, 0, 1024)}
	}
	defer s.signers.Put(g)
	g.buf = append(g.buf[:0], status...)
	g.sum.Reset()
	g.sum.Write(g.buf)
	g.mac.Reset()
	g.buf = append(append(append(append(g.buf[:0], uid...), 0), state...), 0)
	g.mac.Write(g.buf)
	g.buf = g.sum.Sum(g.buf[:0])
	g.mac.Write(g.buf)
	g.buf = g.mac.Sum(g.buf[:0])
	base64.RawURLEncoding.Encode(sig[:], g.buf)
}

// trusted reports whether a run's stored state and status are the
// reconciler's: signed by it, or not there at all (a new run).
func (s *State) trusted(cm *corev1.ConfigMap) bool {
	if cm.Annotations[v1alpha1.AnnotationSignature] == s.verified {
		return true // checked as the cache took it in: keepVerdict
	}
	return s.signed(cm)
}

// signed is trusted for a run as stored: its signature checked, the
// verdict of keepVerdict not taken.
func (s *State) signed(cm *corev1.ConfigMap) bool {
	label, status := cm.Labels[v1alpha1.LabelState], cm.Data[v1alpha1.KeyStatus]
	sig := cm.Annotations[v1alpha1.AnnotationSignature]
	if sig == "" {
		return label == "" && status == ""
	}
	if len(sig) != sigLen {
		return false
	}
	var want [sigLen]byte
	s.signInto(&want, cm.UID, v1alpha1.RunState(label), status)
	var got [sigLen]byte
	copy(got[:], sig)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// stateOf is a run's state as the reconciler wrote it: "" for a new run
// and for one whose stored state is not the reconciler's.
func (s *State) stateOf(cm *corev1.ConfigMap) v1alpha1.RunState {
	if !s.trusted(cm) {
		return ""
	}
	return v1alpha1.RunState(cm.Labels[v1alpha1.LabelState])
}

// offPrefix marks, in the schedules map, a schedule the reconciler saw
// off (inactive, or its deployment paused), with when it first saw it so.
// Ticks passed while a schedule was off were not missed: when it is on
// again it starts afresh, as a new schedule does, and catches none up.
const offPrefix = "off/"

// lastFired is the last tick fired of a schedule, zero if none or if it
// was seen off since.
func (s *State) lastFired(id string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, off := s.schedules[offPrefix+id]; off {
		return time.Time{}
	}
	return s.schedules[id]
}

// fired records a schedule's tick durably, once its run is created (the
// CronJob controller's order): a reconciler stopped in between fires the
// tick again and finds its run there (fireSchedule), so a tick is neither
// lost nor fired twice. ids no longer live are dropped.
func (s *State) fired(ctx context.Context, id string, tick time.Time, live map[string]bool) error {
	return s.updateSchedules(ctx, live, func(m map[string]time.Time) {
		m[id] = tick.UTC()
		delete(m, offPrefix+id)
	})
}

// switchedOff records, once each, that schedules were seen off: one write
// for all those not yet recorded.
func (s *State) switchedOff(ctx context.Context, ids []string, now time.Time, live map[string]bool) error {
	s.mu.Lock()
	var news []string
	for _, id := range ids {
		if _, known := s.schedules[offPrefix+id]; !known {
			news = append(news, id)
		}
	}
	s.mu.Unlock()
	if len(news) == 0 {
		return nil
	}
	return s.updateSchedules(ctx, live, func(m map[string]time.Time) {
		for _, id := range news {
			m[offPrefix+id] = now.UTC()
		}
	})
}

// updateSchedules writes the schedules map changed by change, keeping
// only the entries of live schedules.
func (s *State) updateSchedules(ctx context.Context, live map[string]bool, change func(map[string]time.Time)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := make(map[string]time.Time, len(s.schedules)+1)
	for k, v := range s.schedules {
		if live[strings.TrimPrefix(k, offPrefix)] {
			next[k] = v
		}
	}
	change(next)
	if s.client == nil { // tests
		s.schedules = next
		return nil
	}
	raw, err := json.Marshal(next)
	if err != nil {
		return err
	}
	secrets := s.client.CoreV1().Secrets(s.ns)
	for range 3 {
		sec := s.secret.DeepCopy()
		if sec.Data == nil {
			sec.Data = map[string][]byte{}
		}
		sec.Data[keySchedules] = raw
		updated, err := secrets.Update(ctx, sec, metav1.UpdateOptions{FieldManager: "flows-reconciler"})
		if apierrors.IsConflict(err) {
			fresh, gerr := secrets.Get(ctx, v1alpha1.StateSecretName, metav1.GetOptions{})
			if gerr != nil {
				return gerr
			}
			s.secret = fresh
			continue
		}
		if err != nil {
			return err
		}
		s.secret, s.schedules = updated, next
		return nil
	}
	return fmt.Errorf("state Secret %s: conflicting writers", v1alpha1.StateSecretName)
}
