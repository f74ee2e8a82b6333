package data

import (
	"context"
	"fmt"
	"iter"
	"math"
	"sync/atomic"
)

// LoaderConfig says what a Loader draws and how far ahead it reads.
type LoaderConfig struct {
	Tier     Tier   // tier the windows come from
	Batch    int    // N, windows per batch (MODEL.md 7.7: 4)
	Window   int    // T, frames per window (MODEL.md 7.7: 100)
	Prefetch int    // K ≥ 1, batches filled ahead of the consumer
	Seed     uint64 // the run's seed; epoch e draws from EpochRand(Seed, e, session)
}

// DefaultLoaderConfig returns the released loader values (MODEL.md 7.7) on the training
// tier, two batches of prefetch and seed 0.
func DefaultLoaderConfig() LoaderConfig {
	return LoaderConfig{Tier: TierTrain, Batch: 4, Window: 100, Prefetch: 2}
}

// Validate reports the first invalid field, or nil.
func (c LoaderConfig) Validate() error {
	switch {
	case !c.Tier.Valid():
		return fmt.Errorf("loader: tier %q, want train, validation or test", c.Tier)
	case c.Batch < 1:
		return fmt.Errorf("loader: batch size %d, want at least 1", c.Batch)
	case c.Window < 1:
		return fmt.Errorf("loader: window of %d frames, want at least 1", c.Window)
	case c.Prefetch < 1:
		return fmt.Errorf("loader: prefetch %d, want at least 1 batch", c.Prefetch)
	}
	return nil
}

// Loader yields batches of one session's tier: random windows for training
// (Batches) or a deterministic walk for validation and evaluation (Sequential).
//
// Batches are filled on a background goroutine, at most Prefetch ahead of the consumer,
// into Prefetch+1 buffers that the Loader owns and reuses from one iteration to the
// next; memory is bounded by those buffers whatever the dataset size. A yielded batch
// is valid until the loop body returns (the next iteration step); the buffer is then
// refilled. One iteration at a time: starting a second one while the first runs yields
// ErrBusy. Breaking out of the loop or cancelling the context stops the goroutine before
// the iterator returns, so nothing leaks.
type Loader struct {
	s      *Session
	frames FrameSource
	cfg    LoaderConfig
	format FrameFormat

	kept     []int // header indices of the tier's trials kept by the NaN policy
	eligible []int // those with at least Window frames
	short    int   // kept trials shorter than Window, skipped by windowed loading
	maxT     int   // longest kept trial

	busy    atomic.Bool
	pool    []*Batch // Prefetch+1 reusable buffers, created on first use
	scratch Trial    // responses of one window, reused
}

// NewLoader returns a loader of s's cfg.Tier whose frames come from frames. The frame
// rate must equal the recording's, and the tier must have a trial kept by Prepare.
func NewLoader(s *Session, frames FrameSource, cfg LoaderConfig) (*Loader, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	id := s.ID()
	f := frames.Format()
	if f.Width < 1 || f.Height < 1 {
		return nil, fmt.Errorf("loader of session %s: frame size %d×%d, want at least 1×1", id, f.Width, f.Height)
	}
	if r := s.rec.RateHz; math.Abs(f.RateHz-r) > 1e-9*r {
		return nil, fmt.Errorf("loader of session %s: the recording runs at %v Hz but frames are decoded at %v Hz: decode at the recording's rate", id, r, f.RateHz)
	}
	l := &Loader{s: s, frames: frames, cfg: cfg, format: f}
	for i, p := range s.trials {
		info := &s.rec.Trials[i]
		if !p.kept || info.Tier != cfg.Tier {
			continue
		}
		l.kept = append(l.kept, i)
		l.maxT = max(l.maxT, info.Frames)
		if info.Frames >= cfg.Window {
			l.eligible = append(l.eligible, i)
		} else {
			l.short++
		}
	}
	if len(l.kept) == 0 {
		return nil, fmt.Errorf("loader of session %s: %w in tier %s (%d trials rejected for missing behaviour; or the tier was not prepared)",
			id, ErrNoTrials, cfg.Tier, len(s.report.Rejected))
	}
	return l, nil
}

// Session returns the session the loader reads.
func (l *Loader) Session() *Session { return l.s }

// Trials returns the number of trials windows are drawn from: those of the tier kept by
// the NaN policy with at least Window frames.
func (l *Loader) Trials() int { return len(l.eligible) }

// Short returns the number of kept trials shorter than Window, which Batches and
// SequenceWindows skip.
func (l *Loader) Short() int { return l.short }

// Batches yields nBatches batches of Batch random windows for epoch (counted over all
// cycles): each window is a trial of the tier drawn uniformly with replacement and a
// start drawn uniformly in [0, frames − Window] (MODEL.md 7.2), from EpochRand(Seed,
// epoch, session). The same (Seed, epoch) yields the same batches.
func (l *Loader) Batches(ctx context.Context, epoch, nBatches int) iter.Seq2[*Batch, error] {
	return func(yield func(*Batch, error) bool) {
		switch {
		case epoch < 0 || nBatches < 0:
			yield(nil, fmt.Errorf("loader of session %s: epoch %d, %d batches, want both ≥ 0", l.s.ID(), epoch, nBatches))
			return
		case len(l.eligible) == 0:
			yield(nil, l.noWindows())
			return
		}
		smp := newSampler(&l.s.rec, l.eligible, l.cfg.Window)
		rng := EpochRand(l.cfg.Seed, epoch, l.s.ID())
		done := 0
		next := func(b *Batch) bool {
			if done == nBatches {
				return false
			}
			done++
			b.N, b.T = l.cfg.Batch, l.cfg.Window
			for n := range b.N {
				i, start := smp.draw(rng)
				b.setItem(n, i, l.s.rec.Trials[i].ID, start)
			}
			return true
		}
		l.run(ctx, l.cfg.Window, next, yield)
	}
}

// Sequential yields every kept trial of the tier in header order, as seq says: windows
// of Window frames (SequenceWindows) or whole trials (SequenceTrials). The last batch
// may hold fewer than Batch windows. No randomness is involved.
func (l *Loader) Sequential(ctx context.Context, seq Sequence) iter.Seq2[*Batch, error] {
	return func(yield func(*Batch, error) bool) {
		p := &plan{rec: &l.s.rec, seq: seq, T: l.cfg.Window, N: l.cfg.Batch}
		maxT := l.cfg.Window
		switch seq {
		case SequenceWindows:
			if len(l.eligible) == 0 {
				yield(nil, l.noWindows())
				return
			}
			p.trials = l.eligible
		case SequenceTrials:
			p.trials, maxT = l.kept, l.maxT
		default:
			yield(nil, fmt.Errorf("loader of session %s: sequence %q, want %q or %q", l.s.ID(), seq, SequenceWindows, SequenceTrials))
			return
		}
		l.run(ctx, maxT, p.next, yield)
	}
}

func (l *Loader) noWindows() error {
	return fmt.Errorf("loader of session %s: %w in tier %s with at least %d frames (%d shorter)", l.s.ID(), ErrNoTrials, l.cfg.Tier, l.cfg.Window, l.short)
}

// result is one filled batch, or the error that stopped the filling.
type result struct {
	b   *Batch
	err error
}

// run fills batches planned by next (which sets N, T and the windows of a batch of at
// most Batch windows of at most maxT frames) on a background goroutine and yields them.
//
// The goroutine takes a free buffer, fills it and queues it; the consumer yields it and
// returns it to the free list when the loop body returns. With Prefetch+1 buffers, the
// consumer holding one and at most Prefetch queued, the goroutine blocks instead of
// reading further ahead. On return (loop finished, broken, failed or cancelled) run
// cancels the goroutine and waits for it.
func (l *Loader) run(ctx context.Context, maxT int, next func(*Batch) bool, yield func(*Batch, error) bool) {
	id := l.s.ID()
	if !l.busy.CompareAndSwap(false, true) {
		yield(nil, fmt.Errorf("loader of session %s: %w (finish or break the previous loop first)", id, ErrBusy))
		return
	}
	defer l.busy.Store(false)

	K := l.cfg.Prefetch
	free := make(chan *Batch, K+1)
	for len(l.pool) < K+1 {
		l.pool = append(l.pool, new(Batch))
	}
	for _, b := range l.pool {
		b.Session, b.H, b.W = id, l.format.Height, l.format.Width
		b.reserve(l.cfg.Batch, maxT, l.s.rec.Units.Len(), l.format.FrameBytes())
		free <- b
	}
	ready := make(chan result, K)
	fillCtx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		defer close(ready)
		for {
			var b *Batch
			select {
			case b = <-free:
			case <-fillCtx.Done():
				return
			}
			if !next(b) {
				return
			}
			b.shape()
			err := l.fill(fillCtx, b)
			select {
			case ready <- result{b, err}:
			case <-fillCtx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		cancel()
		<-stopped
	}()

	for {
		var r result
		var ok bool
		select {
		case r, ok = <-ready:
		case <-ctx.Done():
		}
		if err := ctx.Err(); err != nil {
			yield(nil, fmt.Errorf("load session %s: %w", id, err))
			return
		}
		if !ok {
			return // the plan is exhausted
		}
		if r.err != nil {
			yield(nil, r.err)
			return
		}
		if !yield(r.b, nil) {
			return
		}
		free <- r.b // never blocks: the channel holds every buffer
	}
}

// fill reads the windows b's plan set: responses from the trial source (scaled),
// behaviour and eye from the session's standardised traces, pixels from the frame
// source.
func (l *Loader) fill(ctx context.Context, b *Batch) error {
	src, st := l.s.src, &l.s.stats
	T, U, hw := b.T, b.U, b.H*b.W
	for n := range b.N {
		i, start := b.index[n], b.Starts[n]
		info := &l.s.rec.Trials[i]
		p := &l.s.trials[i]
		if err := src.ReadWindow(&l.scratch, info.ID, start, T); err != nil {
			return fmt.Errorf("load session %s: %w", l.s.ID(), err)
		}
		if len(l.scratch.Responses) != T*U {
			return fmt.Errorf("load session %s: trial %s frames [%d,%d): %d responses read, want T×U = %d×%d",
				l.s.ID(), info.ID, start, start+T, len(l.scratch.Responses), T, U)
		}
		st.ApplyResponses(b.Targets[n*T*U:(n+1)*T*U], l.scratch.Responses)
		copy(b.Eye[2*n*T:2*(n+1)*T], p.eye[2*start:2*(start+T)])
		copy(b.Behavior[2*n*T:2*(n+1)*T], p.behavior[2*start:2*(start+T)])
		if err := l.frames.Frames(ctx, p.video, start, T, b.Frames[n*T*hw:(n+1)*T*hw]); err != nil {
			return fmt.Errorf("load session %s: trial %s: %w", l.s.ID(), info.ID, err)
		}
	}
	return nil
}
