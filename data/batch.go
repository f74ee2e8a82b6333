package data

// Batch is N windows of T consecutive frames of one session, N-major, every array
// contiguous. Frame k of window n is frame Starts[n]+k of trial Trials[n]: its pixels,
// eye position, behaviour and responses all belong to that frame (docs/FORMAT.md, the
// common clock), so inputs and targets are aligned in time.
//
// A Loader reuses a few Batch buffers: a batch is valid until the next iteration step
// of the loop that yielded it. Copy what must outlive that step.
type Batch struct {
	Session SessionID
	N, T, U int // windows, frames per window, units
	H, W    int // frame height and width in pixels

	Frames   []uint8   // [N,T,H,W] stimulus pixels at the model's size (NHWC with C = 1)
	Eye      []float32 // [N,T,2] standardised pupil centre x, y (the perspective input)
	Behavior []float32 // [N,T,2] standardised [pupil radius, running speed] (the modulation input)
	Targets  []float32 // [N,T,U] responses divided by each unit's training mean; NaN kept (masked in the loss)
	Trials   []string  // [N] trial id of each window
	Starts   []int     // [N] first frame of each window within its trial

	index []int // [N] header index of each window's trial
}

// reserve sizes b's backing arrays for up to n windows of up to t frames, keeping
// them when large enough, so that a reused batch does not allocate.
func (b *Batch) reserve(n, t, u, hw int) {
	b.U = u
	b.Frames = grow(b.Frames, n*t*hw)
	b.Eye = grow(b.Eye, n*t*2)
	b.Behavior = grow(b.Behavior, n*t*2)
	b.Targets = grow(b.Targets, n*t*u)
	b.Trials = grow(b.Trials, n)
	b.Starts = grow(b.Starts, n)
	b.index = grow(b.index, n)
}

// setItem records window n (before N and T are final; reserve has made room).
func (b *Batch) setItem(n, index int, id string, start int) {
	b.index[:cap(b.index)][n] = index
	b.Trials[:cap(b.Trials)][n] = id
	b.Starts[:cap(b.Starts)][n] = start
}

// shape cuts every array of b to its N and T.
func (b *Batch) shape() {
	nt := b.N * b.T
	b.Frames = b.Frames[:nt*b.H*b.W]
	b.Eye = b.Eye[:2*nt]
	b.Behavior = b.Behavior[:2*nt]
	b.Targets = b.Targets[:nt*b.U]
	b.Trials = b.Trials[:b.N]
	b.Starts = b.Starts[:b.N]
	b.index = b.index[:b.N]
}

// grow returns xs with capacity for at least n elements (length unspecified).
func grow[E any](xs []E, n int) []E {
	if cap(xs) < n {
		return make([]E, n)
	}
	return xs
}
