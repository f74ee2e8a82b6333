package h5

import (
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fmcore/fmcore/data"
)

// TestReadTrialRange reads windows and compares them with the slices of the whole trial.
func TestReadTrialRange(t *testing.T) {
	const T, U = 70, 2048 // 32 frames per chunk: windows cross chunk boundaries
	rng := rand.New(rand.NewPCG(3, 4))
	path := filepath.Join(t.TempDir(), "rec.h5")
	tr := testTrial(rng, "0", T, U, data.TierTrain)
	writeFile(t, path, testRecording(U, false), tr)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var dst data.Trial
	for _, c := range []struct{ start, n int }{{0, T}, {0, 1}, {T - 1, 1}, {30, 5}, {31, 33}, {5, 64}} {
		if err := f.ReadTrialRangeInto(&dst, "0", c.start, c.n); err != nil {
			t.Fatal(err)
		}
		want := &data.Trial{
			TrialInfo: tr.TrialInfo,
			Responses: tr.Responses[c.start*U : (c.start+c.n)*U],
			Pupil:     tr.Pupil[c.start : c.start+c.n],
			Running:   tr.Running[c.start : c.start+c.n],
			Eye:       tr.Eye[2*c.start : 2*(c.start+c.n)],
		}
		want.Frames = c.n
		checkTrial(t, &dst, want)
	}
	for _, c := range []struct {
		id       string
		start, n int
		kind     error
		phrase   string
	}{
		{"0", -1, 5, ErrRange, "frames [-1,4) requested, the trial has frames [0,70)"},
		{"0", 0, 0, ErrRange, "frames [0,0) requested"},
		{"0", 60, 11, ErrRange, "frames [60,71) requested"},
		{"7", 0, 1, ErrNoTrial, "/trials/7: no such trial"},
	} {
		_, err := f.ReadTrialRange(c.id, c.start, c.n)
		if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.phrase) || !strings.HasPrefix(err.Error(), path) {
			t.Errorf("ReadTrialRange(%s, %d, %d): %v, want %v containing %q", c.id, c.start, c.n, err, c.kind, c.phrase)
		}
	}
	// A window no larger than the last reuses dst's arrays.
	allocs := testing.AllocsPerRun(10, func() {
		if err := f.ReadTrialRangeInto(&dst, "0", 10, 20); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("ReadTrialRangeInto allocates %v times per call, want 0", allocs)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadTrial("0"); err == nil {
		t.Error("read after Close succeeded")
	}
}

// TestConcurrentReads reads windows of one File from several goroutines (run with
// -race); the thread-safe HDF5 library serialises the calls.
func TestConcurrentReads(t *testing.T) {
	const T, U, n = 100, 64, 20
	path := filepath.Join(t.TempDir(), "rec.h5")
	tr := testTrial(rand.New(rand.NewPCG(1, 2)), "0", T, U, data.TierTrain)
	writeFile(t, path, testRecording(U, false), tr)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var dst data.Trial
			for i := range 50 {
				s := (7*g + 3*i) % (T - n)
				if err := f.ReadTrialRangeInto(&dst, "0", s, n); err != nil {
					t.Error(err)
					return
				}
				if !sameFloats(dst.Responses, tr.Responses[s*U:(s+n)*U]) || !sameFloats(dst.Eye, tr.Eye[2*s:2*(s+n)]) {
					t.Errorf("goroutine %d: window at frame %d differs", g, s)
					return
				}
			}
		}()
	}
	wg.Wait()
}
