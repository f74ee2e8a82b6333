package nn

import "sync"

// Buffers holds the output buffers of kernel ops for several graphs that never run at the
// same time, such as the training and validation windows of every session of one network:
// the op built k-th by each graph's Builder writes into the buffer (k, size), so the graphs
// share one set of buffers instead of holding one each (outputBuffer explains why an op
// keeps its output between runs). Whatever a run's caller needs after the run must be
// copied out before another graph sharing the Buffers runs, as before the same graph's next
// run. The zero value is not usable; use NewBuffers.
type Buffers struct {
	mu  sync.Mutex
	f32 map[bufferKey][]float32
	f64 map[bufferKey][]float64
}

// sharedOutputs numbers the kernel ops of one graph whose outputs live in bufs.
type sharedOutputs struct {
	bufs *Buffers
	next int // slot of the next op
}

// claim gives op the next slot (nothing when s is nil: the op keeps its own buffer).
func (s *sharedOutputs) claim(op *kernelOp) {
	if s == nil {
		return
	}
	op.shared, op.slot = s, s.next
	s.next++
}

// bufferKey identifies a shared buffer: the op's build order in its graph, and its length.
type bufferKey struct{ slot, n int }

// NewBuffers returns an empty set of shared buffers.
func NewBuffers() *Buffers {
	return &Buffers{f32: map[bufferKey][]float32{}, f64: map[bufferKey][]float64{}}
}

// Bytes returns the memory the buffers hold.
func (b *Buffers) Bytes() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	var n int64
	for _, v := range b.f32 {
		n += 4 * int64(len(v))
	}
	for _, v := range b.f64 {
		n += 8 * int64(len(v))
	}
	return n
}

// float32s returns the float32 buffer of op slot with n elements, allocating it on first use.
func (b *Buffers) float32s(slot, n int) []float32 { return lookup(&b.mu, b.f32, slot, n) }

// float64s is float32s for float64 graphs.
func (b *Buffers) float64s(slot, n int) []float64 { return lookup(&b.mu, b.f64, slot, n) }

// lookup returns m's buffer (slot, n) under mu, allocating it on first use.
func lookup[T any](mu *sync.Mutex, m map[bufferKey][]T, slot, n int) []T {
	mu.Lock()
	defer mu.Unlock()
	k := bufferKey{slot, n}
	v, ok := m[k]
	if !ok {
		v = make([]T, n)
		m[k] = v
	}
	return v
}
