package data

import (
	"math"
	"slices"
	"testing"
)

func TestFillGaps(t *testing.T) {
	N := float32(math.NaN())
	for _, c := range []struct {
		name string
		in   []float32
		want []float32
	}{
		{"no gap", []float32{1, 2, 3}, []float32{1, 2, 3}},
		{"interior", []float32{0, N, N, 3}, []float32{0, 1, 2, 3}},
		{"two gaps", []float32{4, N, 2, N, N, N, 6}, []float32{4, 3, 2, 3, 4, 5, 6}},
		{"leading edge holds the first value", []float32{N, N, 5, 7}, []float32{5, 5, 5, 7}},
		{"trailing edge holds the last value", []float32{1, 3, N, N}, []float32{1, 3, 3, 3}},
		{"both edges", []float32{N, 2, N, 4, N}, []float32{2, 2, 3, 4, 4}},
		{"one valid value", []float32{N, N, 9, N}, []float32{9, 9, 9, 9}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := slices.Clone(c.in)
			fillGaps(got, 1, 0, len(got))
			// Exact: every expected value is a/b-interpolation on small integers, exact in
			// float64 and representable in float32.
			if !slices.Equal(got, c.want) {
				t.Errorf("fillGaps(%v) = %v, want %v", c.in, got, c.want)
			}
		})
	}
	t.Run("strided eye column", func(t *testing.T) {
		eye := []float32{N, 10, 1, N, N, 30, 3, N} // x: NaN,1,NaN,3  y: 10,NaN,30,NaN
		fillGaps(eye, 2, 0, 4)
		fillGaps(eye, 2, 1, 4)
		want := []float32{1, 10, 1, 20, 2, 30, 3, 30}
		if !slices.Equal(eye, want) {
			t.Errorf("eye = %v, want %v", eye, want)
		}
	})
}

func TestCheckNaN(t *testing.T) {
	N := float32(math.NaN())
	trial := func(pupil, running []float32) *Trial {
		T := len(pupil)
		return &Trial{TrialInfo: TrialInfo{ID: "3", Tier: TierTrain, Frames: T}, Pupil: pupil, Running: running, Eye: make([]float32, 2*T)}
	}
	for _, c := range []struct {
		name      string
		max       float64
		pupil     []float32
		running   []float32
		wantTrace string // "" = kept
		wantMiss  [nTraces]int
	}{
		{"complete", 0.5, []float32{1, 2, 3, 4}, []float32{1, 2, 3, 4}, "", [nTraces]int{}},
		{"half missing is kept", 0.5, []float32{N, N, 3, 4}, []float32{1, 2, 3, 4}, "", [nTraces]int{2, 0, 0, 0}},
		{"more than half rejected", 0.5, []float32{1, 2, 3, 4}, []float32{N, N, N, 4}, "running", [nTraces]int{}},
		{"zero tolerance", 0, []float32{1, N, 3, 4}, []float32{1, 2, 3, 4}, "pupil", [nTraces]int{}},
		{"all missing rejected even at 1", 1, []float32{N, N, N, N}, []float32{1, 2, 3, 4}, "pupil", [nTraces]int{}},
		{"mostly missing kept at 1", 1, []float32{N, N, N, 4}, []float32{1, 2, 3, 4}, "", [nTraces]int{3, 0, 0, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			miss, rej := checkNaN(trial(c.pupil, c.running), NaNPolicy{MaxMissing: c.max})
			switch {
			case c.wantTrace == "" && rej != nil:
				t.Errorf("rejected: %v", rej)
			case c.wantTrace != "" && (rej == nil || rej.Trace != c.wantTrace):
				t.Errorf("rejection %v, want one for %s", rej, c.wantTrace)
			case c.wantTrace == "" && miss != c.wantMiss:
				t.Errorf("missing %v, want %v", miss, c.wantMiss)
			}
		})
	}
}

func TestNaNPolicyValidate(t *testing.T) {
	for _, c := range []struct {
		max float64
		ok  bool
	}{{0, true}, {0.5, true}, {1, true}, {-0.1, false}, {1.5, false}, {math.NaN(), false}} {
		if err := (NaNPolicy{MaxMissing: c.max}).Validate(); (err == nil) != c.ok {
			t.Errorf("MaxMissing %v: error %v, want ok=%v", c.max, err, c.ok)
		}
	}
}

// TestPrepareRejectsAndFills checks the NaN policy end to end: rejected trials are
// counted and never loaded, gaps are filled and counted, response NaN stays NaN.
func TestPrepareRejectsAndFills(t *testing.T) {
	const U, T = 3, 10
	N := float32(math.NaN())
	src := newMemSource(U)
	good := codedTrial(0, T, U, TierTrain)
	good.Pupil[0], good.Pupil[4], good.Running[9] = N, N, N // 3 behaviour gaps
	good.Eye[2*5+1] = N                                     // 1 eye gap
	good.Responses[2*U+1] = N                               // kept as NaN
	src.add(good)
	bad := codedTrial(1, T, U, TierTrain)
	for f := range 6 { // 60 % of the eye x trace
		bad.Eye[2*f] = N
	}
	src.add(bad)
	badVal := codedTrial(2, T, U, TierValidation)
	for f := range T {
		badVal.Running[f] = N
	}
	src.add(badVal)
	src.add(codedTrial(3, T, U, TierValidation))

	s, err := Prepare(t.Context(), src, DefaultPrepareOptions())
	if err != nil {
		t.Fatal(err)
	}
	r := s.Report()
	if r.Scanned != 4 || len(r.Rejected) != 2 || r.Rejected[0].Trial != "1" || r.Rejected[0].Trace != "eye x" || r.Rejected[1].Trial != "2" {
		t.Errorf("report %+v: want 4 read, trials 1 (eye x) and 2 rejected", r)
	}
	if r.FilledPupil != 2 || r.FilledRunning != 1 || r.FilledEye != 1 || r.ResponseNaN != 1 {
		t.Errorf("filled pupil %d, running %d, eye %d, response NaN %d; want 2, 1, 1, 1", r.FilledPupil, r.FilledRunning, r.FilledEye, r.ResponseNaN)
	}
	if r.StatsTrials != 1 {
		t.Errorf("statistics from %d trials, want 1 (trial 1 rejected, 2 and 3 not training)", r.StatsTrials)
	}
	if s.Kept(TierTrain) != 1 || s.Kept(TierValidation) != 1 {
		t.Errorf("kept %d train, %d validation; want 1 and 1", s.Kept(TierTrain), s.Kept(TierValidation))
	}
	// The filled pupil of trial 0: frame 0 takes frame 1's value (51), frame 4 the mean of
	// frames 3 and 5 (54); standardised with the session's pupil statistics.
	st := s.Stats()
	p := s.trials[0].behavior
	for _, c := range []struct{ f, raw int }{{0, 51}, {4, 54}} {
		if got, want := p[2*c.f], st.Pupil.Apply(float32(c.raw)); got != want {
			t.Errorf("pupil at frame %d = %v, want standardised %d = %v", c.f, got, c.raw, want)
		}
	}
	if got, want := p[2*9+1], float32(8)/float32(st.Running.Scale); got != want {
		t.Errorf("running at frame 9 = %v, want frame 8's 8/scale = %v", got, want)
	}
}
