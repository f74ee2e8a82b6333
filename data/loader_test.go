package data

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// checkWindows verifies that every window of b holds frames Starts[n]…Starts[n]+T−1 of
// its trial in every array: pixels, targets, eye and behaviour (the coded values of
// codedTrial and memFrames), standardised with st.
func checkWindows(t *testing.T, b *Batch, st Stats) {
	t.Helper()
	T, U, hw := b.T, b.U, b.H*b.W
	if len(b.Frames) != b.N*T*hw || len(b.Targets) != b.N*T*U || len(b.Eye) != 2*b.N*T || len(b.Behavior) != 2*b.N*T ||
		len(b.Trials) != b.N || len(b.Starts) != b.N {
		t.Fatalf("batch N=%d T=%d U=%d H×W=%d: lengths frames %d, targets %d, eye %d, behaviour %d, trials %d, starts %d",
			b.N, T, U, hw, len(b.Frames), len(b.Targets), len(b.Eye), len(b.Behavior), len(b.Trials), len(b.Starts))
	}
	for n := range b.N {
		i, err := strconv.Atoi(b.Trials[n])
		if err != nil {
			t.Fatal(err)
		}
		for k := range T {
			f := b.Starts[n] + k
			nk := n*T + k
			if px := b.Frames[nk*hw : (nk+1)*hw]; px[0] != byte(f+10*i) || px[hw-1] != byte(f+10*i) {
				t.Fatalf("window %d (trial %d from %d), frame %d: pixel %d, want luminance %d", n, i, b.Starts[n], k, px[0], byte(f+10*i))
			}
			// Exact comparisons: the loader applies the same float32 formulas to the same
			// inputs (codedTrial values are small integers, exact in float32).
			for u := range U {
				raw := float32((u + 1) * (1 + f + 1000*i))
				if got, want := b.Targets[nk*U+u], raw/st.ResponseScale[u]; got != want {
					t.Fatalf("window %d (trial %d), frame %d, unit %d: target %v, want %v", n, i, k, u, got, want)
				}
			}
			if got, want := b.Eye[2*nk], st.EyeX.Apply(float32(f+10*i)); got != want {
				t.Fatalf("window %d (trial %d), frame %d: eye x %v, want %v", n, i, k, got, want)
			}
			if got, want := b.Eye[2*nk+1], st.EyeY.Apply(float32(-f+10*i)); got != want {
				t.Fatalf("window %d (trial %d), frame %d: eye y %v, want %v", n, i, k, got, want)
			}
			if got, want := b.Behavior[2*nk], st.Pupil.Apply(float32(50+f)); got != want {
				t.Fatalf("window %d (trial %d), frame %d: pupil %v, want %v", n, i, k, got, want)
			}
			if got, want := b.Behavior[2*nk+1], float32(f+1000*i)/float32(st.Running.Scale); got != want {
				t.Fatalf("window %d (trial %d), frame %d: running %v, want %v", n, i, k, got, want)
			}
		}
	}
}

// testSession is 3 usable training trials (0, 1, 2), a short one (3) and 2 validation
// trials (4, 5), 3 units, coded values, frames 4×2 pixels.
func testSession(t *testing.T) (*Session, *memSource, *memFrames) {
	t.Helper()
	tr, va := TierTrain, TierValidation
	s, src := codedSession(t, 3, []int{20, 15, 30, 8, 25, 12}, []Tier{tr, tr, tr, tr, va, va})
	return s, src, newMemFrames(4, 2, 40)
}

func testConfig(tier Tier, n, T, k int) LoaderConfig {
	return LoaderConfig{Tier: tier, Batch: n, Window: T, Prefetch: k, Seed: 5}
}

func TestLoaderWindowsAreAligned(t *testing.T) {
	leaked := noLeak(t)
	s, _, frames := testSession(t)
	l, err := NewLoader(s, frames, testConfig(TierTrain, 3, 10, 2))
	if err != nil {
		t.Fatal(err)
	}
	if l.Trials() != 3 || l.Short() != 1 {
		t.Errorf("%d trials usable, %d short; want 3 and 1 (trial 3 has 8 < 10 frames)", l.Trials(), l.Short())
	}
	seen := map[string]bool{}
	batches := 0
	for b, err := range l.Batches(t.Context(), 0, 40) {
		if err != nil {
			t.Fatal(err)
		}
		batches++
		if b.Session != s.ID() || b.N != 3 || b.T != 10 || b.U != 3 || b.H != 2 || b.W != 4 {
			t.Fatalf("batch %s N=%d T=%d U=%d H=%d W=%d", b.Session, b.N, b.T, b.U, b.H, b.W)
		}
		checkWindows(t, b, s.Stats())
		for _, id := range b.Trials {
			seen[id] = true
		}
	}
	if batches != 40 {
		t.Errorf("%d batches, want 40", batches)
	}
	if !seen["0"] || !seen["1"] || !seen["2"] || seen["3"] || seen["4"] || seen["5"] {
		t.Errorf("trials drawn %v, want exactly the usable training trials 0, 1, 2", seen)
	}
	leaked()
}

// windows lists "trial@start" of every window of an iteration.
func windows(t *testing.T, l *Loader, epoch, n int) []string {
	t.Helper()
	var out []string
	for b, err := range l.Batches(t.Context(), epoch, n) {
		if err != nil {
			t.Fatal(err)
		}
		for i := range b.N {
			out = append(out, b.Trials[i]+"@"+strconv.Itoa(b.Starts[i]))
		}
	}
	return out
}

func TestLoaderDeterministicPerEpoch(t *testing.T) {
	s, _, frames := testSession(t)
	cfg := testConfig(TierTrain, 4, 5, 2)
	l1, err := NewLoader(s, frames, cfg)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := NewLoader(s, frames, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed++
	l3, err := NewLoader(s, frames, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e3 := windows(t, l1, 3, 10)
	if again := windows(t, l2, 3, 10); !slices.Equal(e3, again) {
		t.Errorf("same seed and epoch, different windows:\n%v\n%v", e3, again)
	}
	if again := windows(t, l1, 3, 10); !slices.Equal(e3, again) {
		t.Error("the same loader drew other windows the second time")
	}
	if e4 := windows(t, l1, 4, 10); slices.Equal(e3, e4) {
		t.Error("epochs 3 and 4 drew the same windows")
	}
	// MODEL.md 7.6's arithmetic: seed 6 at epoch 3 is seed 5 at epoch 4, and differs
	// from seed 5 at epoch 3.
	other := windows(t, l3, 3, 10)
	if slices.Equal(e3, other) {
		t.Error("seeds 5 and 6 drew the same windows at epoch 3")
	}
	if e4 := windows(t, l1, 4, 10); !slices.Equal(other, e4) {
		t.Error("seed 6, epoch 3 and seed 5, epoch 4 drew different windows: EpochSeed is not seed + epoch")
	}
}

func TestLoaderSequential(t *testing.T) {
	leaked := noLeak(t)
	s, _, frames := testSession(t)
	l, err := NewLoader(s, frames, testConfig(TierValidation, 2, 10, 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("windows", func(t *testing.T) {
		var got []string
		for b, err := range l.Sequential(t.Context(), SequenceWindows) {
			if err != nil {
				t.Fatal(err)
			}
			checkWindows(t, b, s.Stats())
			for i := range b.N {
				got = append(got, b.Trials[i]+"@"+strconv.Itoa(b.Starts[i]))
			}
		}
		// Trial 4 (25 frames): windows at 0 and 10; trial 5 (12 frames): at 0.
		if want := []string{"4@0", "4@10", "5@0"}; !slices.Equal(got, want) {
			t.Errorf("windows %v, want %v", got, want)
		}
	})
	t.Run("trials", func(t *testing.T) {
		var got []string
		for b, err := range l.Sequential(t.Context(), SequenceTrials) {
			if err != nil {
				t.Fatal(err)
			}
			checkWindows(t, b, s.Stats())
			got = append(got, strconv.Itoa(b.N)+"×"+strconv.Itoa(b.T))
		}
		if want := []string{"1×25", "1×12"}; !slices.Equal(got, want) {
			t.Errorf("batches %v, want whole trials %v", got, want)
		}
	})
	t.Run("unknown sequence", func(t *testing.T) {
		for _, err := range l.Sequential(t.Context(), "shuffled") {
			if err == nil || !strings.Contains(err.Error(), `sequence "shuffled"`) {
				t.Errorf("error %v", err)
			}
		}
	})
	leaked()
}

// TestLoaderPrefetchIsBounded holds the first batch and checks that the background
// goroutine fills exactly K more (K+1 buffers in all) and then waits.
func TestLoaderPrefetchIsBounded(t *testing.T) {
	for _, K := range []int{1, 2, 4} {
		t.Run("K="+strconv.Itoa(K), func(t *testing.T) {
			leaked := noLeak(t)
			s, _, frames := testSession(t)
			l, err := NewLoader(s, frames, testConfig(TierTrain, 1, 5, K)) // N = 1: one Frames call per batch
			if err != nil {
				t.Fatal(err)
			}
			buffers := map[*Batch]bool{}
			step := 0
			for b, err := range l.Batches(t.Context(), 0, 50) {
				if err != nil {
					t.Fatal(err)
				}
				buffers[b] = true
				if step++; step > 1 {
					continue
				}
				want := int64(K + 1)
				deadline := time.Now().Add(2 * time.Second)
				for frames.calls.Load() < want && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				time.Sleep(30 * time.Millisecond) // room for a fill beyond the bound, if there were one
				if got := frames.calls.Load(); got != want {
					t.Errorf("while the consumer holds batch 1: %d batches filled, want K+1 = %d", got, want)
				}
			}
			if step != 50 || len(buffers) > K+1 {
				t.Errorf("%d batches in %d buffers, want 50 in at most K+1 = %d", step, len(buffers), K+1)
			}
			leaked()
		})
	}
}

func TestLoaderStops(t *testing.T) {
	t.Run("break", func(t *testing.T) {
		leaked := noLeak(t)
		s, _, frames := testSession(t)
		l, err := NewLoader(s, frames, testConfig(TierTrain, 1, 5, 2))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, err := range l.Batches(t.Context(), 0, 1000) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 3 {
				break
			}
		}
		if c := frames.calls.Load(); c > 3+2 {
			t.Errorf("%d batches filled for 3 consumed with K = 2", c)
		}
		leaked()
		// The loader is free again after the break.
		if got := windows(t, l, 0, 2); len(got) != 2 {
			t.Errorf("after the break: %d windows, want 2", len(got))
		}
	})
	t.Run("cancel while filling", func(t *testing.T) {
		leaked := noLeak(t)
		s, _, frames := testSession(t)
		frames.block = true // every read waits for cancellation
		l, err := NewLoader(s, frames, testConfig(TierTrain, 2, 5, 2))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(20*time.Millisecond, cancel)
		var errs []error
		for b, err := range l.Batches(ctx, 0, 10) {
			if b != nil {
				t.Error("a batch was yielded by a source that never delivers")
			}
			errs = append(errs, err)
		}
		if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
			t.Errorf("errors %v, want one wrapping context.Canceled", errs)
		}
		leaked()
	})
	t.Run("cancel in the loop body", func(t *testing.T) {
		leaked := noLeak(t)
		s, _, frames := testSession(t)
		l, err := NewLoader(s, frames, testConfig(TierTrain, 2, 5, 2))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		good, bad := 0, 0
		for _, err := range l.Batches(ctx, 0, 10) {
			if err != nil {
				bad++
				if !errors.Is(err, context.Canceled) {
					t.Errorf("error %v, want context.Canceled", err)
				}
				continue
			}
			if good++; good == 2 {
				cancel()
			}
		}
		if good != 2 || bad != 1 {
			t.Errorf("%d batches and %d errors after cancelling at batch 2, want 2 and 1", good, bad)
		}
		leaked()
	})
	t.Run("read error", func(t *testing.T) {
		leaked := noLeak(t)
		s, _, frames := testSession(t)
		frames.fail, frames.failAt = errors.New("disk on fire"), 3
		l, err := NewLoader(s, frames, testConfig(TierTrain, 1, 5, 2))
		if err != nil {
			t.Fatal(err)
		}
		good := 0
		var last error
		for _, err := range l.Batches(t.Context(), 0, 10) {
			if err != nil {
				last = err
				continue
			}
			good++
		}
		if good != 2 || last == nil || !strings.Contains(last.Error(), "load session 7-4: trial") || !strings.Contains(last.Error(), "disk on fire") {
			t.Errorf("%d batches then %v; want 2, then the read error with its session and trial", good, last)
		}
		leaked()
	})
	t.Run("one iteration at a time", func(t *testing.T) {
		leaked := noLeak(t)
		s, _, frames := testSession(t)
		l, err := NewLoader(s, frames, testConfig(TierTrain, 1, 5, 1))
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range l.Batches(t.Context(), 0, 2) {
			if err != nil {
				t.Fatal(err)
			}
			for _, err := range l.Sequential(t.Context(), SequenceWindows) {
				if !errors.Is(err, ErrBusy) {
					t.Errorf("nested iteration: %v, want ErrBusy", err)
				}
			}
		}
		leaked()
	})
}

func TestNewLoaderErrors(t *testing.T) {
	s, _, frames := testSession(t)
	slow := newMemFrames(4, 2, 40)
	slow.format.RateHz = 15
	for _, c := range []struct {
		name   string
		frames FrameSource
		cfg    LoaderConfig
		want   string
	}{
		{"rate mismatch", slow, testConfig(TierTrain, 1, 5, 1), "recording runs at 30 Hz but frames are decoded at 15 Hz"},
		{"empty tier", frames, testConfig(TierTest, 1, 5, 1), "no usable trials in tier test"},
		{"zero batch", frames, testConfig(TierTrain, 0, 5, 1), "batch size 0"},
		{"zero prefetch", frames, testConfig(TierTrain, 1, 5, 0), "prefetch 0"},
		{"bad tier", frames, testConfig("dev", 1, 5, 1), `tier "dev"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewLoader(s, c.frames, c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	t.Run("windows longer than every trial", func(t *testing.T) {
		l, err := NewLoader(s, frames, testConfig(TierValidation, 1, 26, 1))
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range l.Batches(t.Context(), 0, 1) {
			if !errors.Is(err, ErrNoTrials) || !strings.Contains(err.Error(), "at least 26 frames (2 shorter)") {
				t.Errorf("error %v", err)
			}
		}
	})
}
