package data

import (
	"hash/fnv"
	"math/rand/v2"
)

// EpochSeed returns the seed of one epoch's windows, MODEL.md 7.6:
//
//	seed = optimizer_seed + rank + world_size · (epoch + cycle_size · cycle)
//
// with one process (rank 0, world size 1), where epoch here already counts over all
// cycles (e + cycle_size·c). The training and the validation windows of an epoch share
// it, as in the reference.
func EpochSeed(seed uint64, epoch int) uint64 { return seed + uint64(epoch) }

// EpochRand returns the generator a Loader draws the windows of one epoch of session id
// from: PCG seeded with EpochSeed(seed, epoch) and, as second word, a hash of the session
// key. The hash stands in for the reference's per-scan rank: sessions trained together
// draw independent windows, and the draws of a session do not depend on which other
// sessions are loaded or in which order.
func EpochRand(seed uint64, epoch int, id SessionID) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(id.String()))
	return rand.New(rand.NewPCG(EpochSeed(seed, epoch), h.Sum64()))
}

// sampler draws training windows (MODEL.md 7.2): a trial uniformly with replacement,
// then a start uniformly in [0, frames − T]. The reference draws the start from
// [0, frames − T) and so never uses a trial's last window; fmcore includes it (MODEL.md
// 13), so every frame of a trial can be the last of a window.
type sampler struct {
	trials []int // indices into the header's trials of the eligible trials
	starts []int // [len(trials)] number of window starts: frames − T + 1
}

// newSampler returns a sampler over the trials listed (header indices) for windows of
// T frames; every trial must have at least T frames.
func newSampler(rec *Recording, trials []int, T int) *sampler {
	s := &sampler{trials: trials, starts: make([]int, len(trials))}
	for k, i := range trials {
		s.starts[k] = rec.Trials[i].Frames - T + 1
	}
	return s
}

// draw returns one window: a header trial index and a start frame.
func (s *sampler) draw(rng *rand.Rand) (trial, start int) {
	k := rng.IntN(len(s.trials))
	return s.trials[k], rng.IntN(s.starts[k])
}

// Sequence is how a Loader walks a tier deterministically, for validation and
// evaluation.
type Sequence string

// The sequences of Loader.Sequential.
const (
	// SequenceWindows cuts every trial of at least T frames into consecutive windows
	// [0,T), [T,2T), …; the frames after the last whole window are not used.
	SequenceWindows Sequence = "windows"
	// SequenceTrials yields whole trials: a batch holds up to N consecutive trials of
	// the same length, and its T is that length.
	SequenceTrials Sequence = "trials"
)

// Valid reports whether q is a known sequence.
func (q Sequence) Valid() bool { return q == SequenceWindows || q == SequenceTrials }

// plan is the deterministic walk of a Sequence over a list of trials.
type plan struct {
	rec    *Recording
	trials []int // header indices, in header order
	seq    Sequence
	T, N   int
	pos    int // next trial of trials
	start  int // next start within trials[pos] (windows)
}

// next sets b's N, T, trial indices and starts to the next batch of the walk and
// reports whether there was one.
func (p *plan) next(b *Batch) bool {
	b.N = 0
	switch p.seq {
	case SequenceWindows:
		b.T = p.T
		for b.N < p.N && p.pos < len(p.trials) {
			i := p.trials[p.pos]
			if p.start+p.T > p.rec.Trials[i].Frames {
				p.pos, p.start = p.pos+1, 0
				continue
			}
			b.setItem(b.N, i, p.rec.Trials[i].ID, p.start)
			b.N++
			p.start += p.T
		}
	case SequenceTrials:
		b.T = 0
		for b.N < p.N && p.pos < len(p.trials) {
			i := p.trials[p.pos]
			T := p.rec.Trials[i].Frames
			if b.N > 0 && T != b.T {
				break
			}
			b.T = T
			b.setItem(b.N, i, p.rec.Trials[i].ID, 0)
			b.N++
			p.pos++
		}
	}
	return b.N > 0
}
