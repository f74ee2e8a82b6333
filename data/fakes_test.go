package data

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// memSource is an in-memory TrialSource holding whole trials.
type memSource struct {
	path   string
	rec    Recording
	trials map[string]*Trial
	reads  atomic.Int64 // ReadWindow calls
}

func (m *memSource) Path() string         { return m.path }
func (m *memSource) Recording() Recording { return m.rec }

func (m *memSource) ReadWindow(dst *Trial, id string, start, n int) error {
	m.reads.Add(1)
	t, ok := m.trials[id]
	if !ok {
		return fmt.Errorf("%s: trial %s: no such trial", m.path, id)
	}
	if start < 0 || n < 1 || start+n > t.Frames {
		return fmt.Errorf("%s: trial %s: frames [%d,%d) outside [0,%d)", m.path, id, start, start+n, t.Frames)
	}
	U := m.rec.Units.Len()
	dst.TrialInfo = t.TrialInfo
	dst.Frames = n
	dst.Responses = append(dst.Responses[:0], t.Responses[start*U:(start+n)*U]...)
	dst.Pupil = append(dst.Pupil[:0], t.Pupil[start:start+n]...)
	dst.Running = append(dst.Running[:0], t.Running[start:start+n]...)
	dst.Eye = append(dst.Eye[:0], t.Eye[2*start:2*(start+n)]...)
	return nil
}

// add appends a trial to the source's header and store.
func (m *memSource) add(t *Trial) {
	m.rec.Trials = append(m.rec.Trials, t.TrialInfo)
	m.trials[t.ID] = t
}

// newMemSource returns an empty session of U units recorded at 30 Hz.
func newMemSource(U int) *memSource {
	rec := Recording{Session: SessionID{Mouse: "7", Session: "4"}, RateHz: 30, Units: Units{ID: make([]int64, U), Area: make([]string, U)}}
	for u := range U {
		rec.Units.ID[u] = int64(u + 1)
		rec.Units.Area[u] = "V1"
	}
	return &memSource{path: "/data/set/7-4.h5", rec: rec, trials: map[string]*Trial{}}
}

// codedTrial returns trial i of T frames whose values encode where they come from:
// responses[f,u] = (u+1)·(1 + f + 1000·i), pupil = 50 + f, running = f + 1000·i,
// eye = (f, −f) + 10·i, and video "videos/<i>.mp4". Frame f of the trial is then
// recognisable in every array of a batch.
func codedTrial(i, T, U int, tier Tier) *Trial {
	t := &Trial{
		TrialInfo: TrialInfo{ID: fmt.Sprint(i), Video: fmt.Sprintf("videos/%d.mp4", i), Stimulus: fmt.Sprint("s", i),
			Domain: DomainNatural, Tier: tier, Frames: T},
		Responses: make([]float32, T*U), Pupil: make([]float32, T), Running: make([]float32, T), Eye: make([]float32, 2*T),
	}
	for f := range T {
		for u := range U {
			t.Responses[f*U+u] = float32((u + 1) * (1 + f + 1000*i))
		}
		t.Pupil[f] = float32(50 + f)
		t.Running[f] = float32(f + 1000*i)
		t.Eye[2*f], t.Eye[2*f+1] = float32(f+10*i), float32(-f+10*i)
	}
	return t
}

// randomTrial returns trial id of T frames with random values, and NaN at the given
// fraction of each behaviour trace's frames and of the responses.
func randomTrial(rng *rand.Rand, id string, T, U int, tier Tier, nanFrac float64) *Trial {
	t := &Trial{
		TrialInfo: TrialInfo{ID: id, Video: "videos/" + id + ".mp4", Stimulus: id, Domain: DomainNatural, Tier: tier, Frames: T},
		Responses: make([]float32, T*U), Pupil: make([]float32, T), Running: make([]float32, T), Eye: make([]float32, 2*T),
	}
	for i := range t.Responses {
		t.Responses[i] = float32(rng.ExpFloat64() * float64(1+i%U))
	}
	for f := range T {
		t.Pupil[f] = float32(300 + 20*rng.NormFloat64()) // large mean against the spread
		t.Running[f] = float32(math.Abs(5 * rng.NormFloat64()))
		t.Eye[2*f], t.Eye[2*f+1] = float32(rng.NormFloat64()), float32(3+2*rng.NormFloat64())
	}
	nan := float32(math.NaN())
	for _, xs := range [][]float32{t.Responses, t.Pupil, t.Running, t.Eye} {
		for i := range xs {
			if rng.Float64() < nanFrac {
				xs[i] = nan
			}
		}
	}
	return t
}

// memFrames is a FrameSource of synthetic videos: every pixel of frame k of video
// "…/videos/<i>.mp4" has luminance (k + 10·i) mod 256, and each video has frames frames.
type memFrames struct {
	format FrameFormat
	frames int
	calls  atomic.Int64 // Frames calls
	// block, when set, makes Frames wait for its context (a decode that never ends).
	block bool
	// fail, when set, is returned by the call numbered failAt (1-based).
	fail   error
	failAt int64
}

func newMemFrames(w, h, frames int) *memFrames {
	return &memFrames{format: FrameFormat{Width: w, Height: h, RateHz: 30}, frames: frames}
}

func (m *memFrames) Format() FrameFormat { return m.format }

func (m *memFrames) Frames(ctx context.Context, path string, start, n int, dst []byte) error {
	c := m.calls.Add(1)
	if m.fail != nil && c == m.failAt {
		return m.fail
	}
	if m.block {
		<-ctx.Done()
		return ctx.Err()
	}
	var i int
	if _, err := fmt.Sscanf(path, "/data/set/videos/%d.mp4", &i); err != nil {
		return fmt.Errorf("video %s: unexpected path", path)
	}
	if start < 0 || start+n > m.frames {
		return fmt.Errorf("video %s: window [%d,%d) outside its %d frames", path, start, start+n, m.frames)
	}
	fb := m.format.FrameBytes()
	for k := range n {
		v := byte((start + k + 10*i) % 256)
		for p := range fb {
			dst[k*fb+p] = v
		}
	}
	return nil
}

// codedSession returns a prepared session of coded trials with the given lengths and
// tiers, U units.
func codedSession(t *testing.T, U int, lengths []int, tiers []Tier) (*Session, *memSource) {
	t.Helper()
	src := newMemSource(U)
	for i, T := range lengths {
		src.add(codedTrial(i, T, U, tiers[i]))
	}
	s, err := Prepare(context.Background(), src, DefaultPrepareOptions())
	if err != nil {
		t.Fatal(err)
	}
	return s, src
}

// noLeak returns a check that fails the test when goroutines started since noLeak was
// called are still running. Call it after the loop under test, not in a Cleanup: t.Context
// is cancelled before cleanups run, which would stop a leaked goroutine and hide it. The
// loader waits for its goroutine before its iterator returns; the grace period only
// covers the instant between a goroutine's last statement and its exit.
func noLeak(t *testing.T) func() {
	t.Helper()
	before := runtime.NumGoroutine()
	return func() {
		t.Helper()
		deadline := time.Now().Add(time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Errorf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
}
