package data

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// directStats computes the statistics the slow way, in float64 over the given trials:
// per-unit mean of valid responses, and mean and population std of valid behaviour.
func directStats(trials []*Trial, U int) (resp []float64, pupil, running, ex, ey [2]float64) {
	resp = make([]float64, U)
	cnt := make([]float64, U)
	var p, r, x, y []float64
	for _, t := range trials {
		for f := range t.Frames {
			for u := range U {
				if v := t.Responses[f*U+u]; !isNaN(v) {
					resp[u] += float64(v)
					cnt[u]++
				}
			}
			for _, c := range []struct {
				v   float32
				dst *[]float64
			}{{t.Pupil[f], &p}, {t.Running[f], &r}, {t.Eye[2*f], &x}, {t.Eye[2*f+1], &y}} {
				if !isNaN(c.v) {
					*c.dst = append(*c.dst, float64(c.v))
				}
			}
		}
	}
	for u := range resp {
		resp[u] /= cnt[u]
	}
	ms := func(xs []float64) [2]float64 {
		var m, v float64
		for _, a := range xs {
			m += a
		}
		m /= float64(len(xs))
		for _, a := range xs {
			v += (a - m) * (a - m)
		}
		return [2]float64{m, math.Sqrt(v / float64(len(xs)))}
	}
	return resp, ms(p), ms(r), ms(x), ms(y)
}

func TestComputeStatsTrainingTierOnly(t *testing.T) {
	const U = 5
	rng := rand.New(rand.NewPCG(3, 4))
	src := newMemSource(U)
	var train []*Trial
	for i := range 6 {
		tier := TierTrain
		if i%3 == 2 {
			tier = TierValidation
		}
		tr := randomTrial(rng, string(rune('a'+i)), 40+7*i, U, tier, 0.05)
		if tier == TierValidation {
			// Far off the training distribution: any leak into the statistics shows.
			for k := range tr.Responses {
				tr.Responses[k] *= 100
			}
			for k := range tr.Pupil {
				tr.Pupil[k] += 1000
			}
		} else {
			train = append(train, tr)
		}
		src.add(tr)
	}
	got, rep, err := ComputeStats(t.Context(), src, DefaultNaNPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if rep.StatsTrials != len(train) || rep.Scanned != len(train) {
		t.Errorf("report: %d trials read, statistics from %d; want %d training trials", rep.Scanned, rep.StatsTrials, len(train))
	}
	resp, pupil, running, ex, ey := directStats(train, U)
	// 1e-6 relative: float32 storage of the response mean (2^-24 ≈ 6e-8) and float64
	// sums merged in another order; a leak of one validation trial moves them by > 10 %.
	const tol = 1e-6
	for u := range U {
		if d := math.Abs(float64(got.ResponseScale[u])-resp[u]) / resp[u]; d > tol {
			t.Errorf("unit %d: scale %v, direct mean %v", u, got.ResponseScale[u], resp[u])
		}
	}
	for _, c := range []struct {
		name string
		got  Affine
		want [2]float64
	}{{"pupil", got.Pupil, pupil}, {"eye x", got.EyeX, ex}, {"eye y", got.EyeY, ey}} {
		if math.Abs(c.got.Mean-c.want[0]) > tol*math.Abs(c.want[0])+tol || math.Abs(c.got.Scale-c.want[1]) > tol*c.want[1] {
			t.Errorf("%s: %+v, direct mean %v, std %v", c.name, c.got, c.want[0], c.want[1])
		}
	}
	if got.Running.Mean != 0 || math.Abs(got.Running.Scale-running[1]) > tol*running[1] {
		t.Errorf("running: %+v, want mean 0 (not centred) and the direct std %v", got.Running, running[1])
	}
	if err := got.Check(U); err != nil {
		t.Error(err)
	}
}

func TestStatsClipAndEmptyUnits(t *testing.T) {
	const U, T = 3, 8
	src := newMemSource(U)
	tr := codedTrial(0, T, U, TierTrain)
	for f := range T {
		tr.Responses[f*U+1] = 0                   // a silent unit: mean 0 < MinScale
		tr.Responses[f*U+2] = float32(math.NaN()) // no valid response at all
		tr.Pupil[f], tr.Running[f] = 2, 0         // constant traces: std 0
	}
	src.add(tr)
	st, rep, err := ComputeStats(t.Context(), src, DefaultNaNPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if st.ResponseScale[1] != MinScale || st.ResponseScale[2] != 1 || rep.ClippedUnits != 1 || rep.EmptyUnits != 1 {
		t.Errorf("scales %v, clipped %d, empty %d; want unit 1 at MinScale, unit 2 at 1, one of each", st.ResponseScale, rep.ClippedUnits, rep.EmptyUnits)
	}
	if st.Pupil.Scale != MinScale || st.Running.Scale != MinScale {
		t.Errorf("constant traces: pupil %+v, running %+v, want scale MinScale", st.Pupil, st.Running)
	}
	if got := st.Pupil.Apply(2); got != 0 {
		t.Errorf("constant pupil standardises to %v, want 0", got)
	}
}

func TestStatsApply(t *testing.T) {
	st := Stats{Session: "7-4", ResponseScale: []float32{2, 0.5}, Pupil: Affine{Mean: 10, Scale: 4},
		Running: Affine{Scale: 5}, EyeX: Affine{Mean: 1, Scale: 2}, EyeY: Affine{Mean: -1, Scale: 0.25}}
	N := float32(math.NaN())
	resp := []float32{4, 1, N, 3}
	st.ApplyResponses(resp, resp) // in place
	// Exact: divisions by powers of two.
	if resp[0] != 2 || resp[1] != 2 || !isNaN(resp[2]) || resp[3] != 6 {
		t.Errorf("responses %v, want [2 2 NaN 6]", resp)
	}
	eye := []float32{3, 0, 1, -1.5}
	st.ApplyEye(eye, eye)
	if eye[0] != 1 || eye[1] != 4 || eye[2] != 0 || eye[3] != -2 {
		t.Errorf("eye %v, want [1 4 0 -2]", eye)
	}
	beh := []float32{14, 10, 6, 0} // [pupil, running] × 2 frames
	dst := make([]float32, 4)
	st.ApplyBehavior(dst, beh)
	if dst[0] != 1 || dst[1] != 2 || dst[2] != -1 || dst[3] != 0 {
		t.Errorf("behaviour %v, want [1 2 -1 0]: running is scaled, not centred", dst)
	}
}

func TestStatsJSONAndCheck(t *testing.T) {
	st := Stats{Session: "7-4", ResponseScale: []float32{1.5, 0.25}, Pupil: Affine{Mean: 300.5, Scale: 12},
		Running: Affine{Scale: 3}, EyeX: Affine{Mean: 0.1, Scale: 2}, EyeY: Affine{Mean: -3, Scale: 1}}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"response_scale":[1.5,0.25]`, `"pupil":{"mean":300.5,"scale":12}`, `"eye_x"`, `"running"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON %s lacks %s", b, key)
		}
	}
	var back Stats
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Pupil != st.Pupil || back.ResponseScale[1] != 0.25 || back.Session != "7-4" {
		t.Errorf("round trip: %+v, want %+v", back, st)
	}
	for _, c := range []struct {
		name   string
		mutate func(*Stats)
		U      int
		want   string
	}{
		{"valid", func(*Stats) {}, 2, ""},
		{"wrong U", func(*Stats) {}, 3, "2 response scales, want U = 3"},
		{"zero scale", func(s *Stats) { s.ResponseScale[0] = 0 }, 2, "unit 0"},
		{"NaN mean", func(s *Stats) { s.EyeY.Mean = math.NaN() }, 2, "eye y"},
		{"centred running", func(s *Stats) { s.Running.Mean = 1 }, 2, "running mean"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := back
			s.ResponseScale = []float32{1.5, 0.25}
			c.mutate(&s)
			err := s.Check(c.U)
			if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
				t.Errorf("Check: %v, want %q", err, c.want)
			}
		})
	}
}

func TestPrepareWithGivenStats(t *testing.T) {
	const U = 2
	src := newMemSource(U)
	src.add(codedTrial(0, 12, U, TierTest))
	st := Stats{Session: "7-4", ResponseScale: []float32{2, 4}, Pupil: Affine{Mean: 50, Scale: 2},
		Running: Affine{Scale: 1}, EyeX: Affine{Scale: 1}, EyeY: Affine{Scale: 1}}
	opts := DefaultPrepareOptions()
	opts.Stats, opts.Tiers = &st, []Tier{TierTest}
	s, err := Prepare(t.Context(), src, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Stats(); got.ResponseScale[1] != 4 || got.Pupil != st.Pupil || s.Report().StatsTrials != 0 {
		t.Errorf("stats %+v (from %d trials), want the given ones", got, s.Report().StatsTrials)
	}
	if got := s.trials[0].behavior[2*3]; got != 1.5 { // pupil 53 → (53−50)/2
		t.Errorf("standardised pupil at frame 3 = %v, want 1.5", got)
	}
	st.Session = "8-1"
	if _, err := Prepare(t.Context(), src, opts); err == nil || !strings.Contains(err.Error(), "belong to session 8-1") {
		t.Errorf("stats of another session: %v", err)
	}
}
