package mouse

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestMouseSpecValidate(t *testing.T) {
	tests := []struct {
		name string
		spec MouseSpec
		want string // substring of the error; empty for a valid spec
	}{
		{"defaults", MouseSpec{ID: "m", Units: 10}, ""},
		{"no units", MouseSpec{ID: "m"}, `mouse spec "m": 0 units`},
		{"reliability 1", MouseSpec{ID: "m", Units: 10, Reliability: 1}, "reliability 1"},
		{"negative spread", MouseSpec{ID: "m", Units: 10, ReliabilitySpread: -1}, "spread -1"},
		{"gaps", MouseSpec{ID: "m", Units: 10, GapFraction: 0.5}, "gap fraction 0.5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrSpec) {
				t.Fatalf("Validate = %v, want an ErrSpec containing %q", err, tc.want)
			}
		})
	}
}

// TestDeterminism checks that the same seeds give identical units, behaviour and
// responses, and that a different mouse seed or noise seed gives different ones.
func TestDeterminism(t *testing.T) {
	b := testBank(t)
	const T = 40
	f, err := b.Features(smoothClip(b.spec, T, 4, 0, 0), T, nil)
	if err != nil {
		t.Fatal(err)
	}
	run := func(seed, trial uint64) (Truth, Behavior, []float32, []float32) {
		m := testMouse(t, b, MouseSpec{ID: "det", Units: 50, Seed: seed})
		rng := rand.New(rand.NewPCG(trial, 0))
		beh, err := m.Behavior(T, nil, rng)
		if err != nil {
			t.Fatal(err)
		}
		rate, obs, err := m.Respond(f, beh, rng)
		if err != nil {
			t.Fatal(err)
		}
		return m.Truth(), beh, rate, obs
	}
	tr1, beh1, rate1, obs1 := run(1, 1)
	tr2, beh2, rate2, obs2 := run(1, 1)
	if !slices.Equal(tr1.RFPixel, tr2.RFPixel) || !slices.Equal(tr1.Gain, tr2.Gain) || !slices.Equal(tr1.CountScale, tr2.CountScale) {
		t.Error("same seed: different truth")
	}
	if !slices.Equal(beh1.Running, beh2.Running) || !slices.Equal(beh1.Eye, beh2.Eye) || !slices.Equal(beh1.Pupil, beh2.Pupil) {
		t.Error("same seed: different behaviour")
	}
	if !slices.Equal(rate1, rate2) || !slices.Equal(obs1, obs2) {
		t.Error("same seed: different responses")
	}
	tr3, _, rate3, _ := run(2, 1)
	if slices.Equal(tr1.RFPixel, tr3.RFPixel) || slices.Equal(rate1, rate3) {
		t.Error("different mouse seed: same units or rates")
	}
	_, beh4, _, obs4 := run(1, 2)
	if slices.Equal(beh1.Eye, beh4.Eye) || slices.Equal(obs1, obs4) {
		t.Error("different trial seed: same behaviour or noise")
	}
}

// TestTruthLayout checks the unit table: area proportions (V1 60 %, LM 15 %, AL 10 %,
// RL 15 %, apportioned exactly), a smooth retinotopic map (within V1, azimuth rises
// with cortical x and elevation with cortical y: r > 0.9 with 3° scatter on a 100°
// map), pixel and degree coordinates that agree, ds directions along the recorded
// orientation and NaN elsewhere, and a data.Units table that checks.
func TestTruthLayout(t *testing.T) {
	b := testBank(t)
	const U = 1000
	m := testMouse(t, b, MouseSpec{ID: "layout", Units: U, Seed: 8})
	tr := m.Truth()
	count := map[Area]int{}
	for _, a := range tr.Area {
		count[a]++
	}
	want := map[Area]int{AreaV1: 600, AreaLM: 150, AreaAL: 100, AreaRL: 150}
	for a, n := range want {
		if count[a] != n {
			t.Errorf("area %s: %d units, want %d", a, count[a], n)
		}
	}
	var cx, cy, az, el []float64
	sp := b.spec
	for u := range U {
		x, y := float64(tr.RFPixel[2*u]), float64(tr.RFPixel[2*u+1])
		if x < 0 || y < 0 || x > float64(sp.Width-1) || y > float64(sp.Height-1) {
			t.Fatalf("unit %d: RF (%g, %g) outside the frame", u, x, y)
		}
		wantAz := (x - float64(sp.Width-1)/2) * sp.DegPerPixel
		wantEl := -(y - float64(sp.Height-1)/2) * sp.DegPerPixel
		if math.Abs(float64(tr.RFDeg[2*u])-wantAz) > 1e-3 || math.Abs(float64(tr.RFDeg[2*u+1])-wantEl) > 1e-3 {
			t.Fatalf("unit %d: RF %v px but %v deg", u, tr.RFPixel[2*u:2*u+2], tr.RFDeg[2*u:2*u+2])
		}
		if tr.Area[u] == AreaV1 {
			cx, cy = append(cx, float64(tr.PositionUM[3*u])), append(cy, float64(tr.PositionUM[3*u+1]))
			az, el = append(az, float64(tr.RFDeg[2*u])), append(el, float64(tr.RFDeg[2*u+1]))
		}
	}
	if r := corr(cx, az); r < 0.9 {
		t.Errorf("V1: corr(cortical x, azimuth) = %.3f, want > 0.9", r)
	}
	if r := corr(cy, el); r < 0.9 {
		t.Errorf("V1: corr(cortical y, elevation) = %.3f, want > 0.9", r)
	}
	if err := m.Units().Check(); err != nil {
		t.Errorf("Units: %v", err)
	}
	for u := range U {
		ds := tr.Class[u] == ClassDS
		if ds == math.IsNaN(float64(tr.Direction[u])) {
			t.Fatalf("unit %d (%s): direction %g", u, tr.Class[u], tr.Direction[u])
		}
		if ds && angleDiff(float64(tr.Direction[u]), float64(tr.Orientation[u]), 180) != 0 {
			t.Fatalf("unit %d: direction %g not along orientation %g", u, tr.Direction[u], tr.Orientation[u])
		}
	}
}

// corr returns the Pearson correlation of x and y.
func corr(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx, my = mx+x[i]/n, my+y[i]/n
	}
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	return sxy / math.Sqrt(sxx*syy)
}

// TestResponses checks the outputs' basic properties on a natural-like clip with real
// behaviour: observed traces are non-negative and, over 20 trials, their mean over units
// and frames matches the noise-free rate's (the rate is its expected value; one trial's
// mean scatters by about 4 % because the noise is sparse, large events, so 20 trials
// scatter by about 1 % and 3 % is a 3σ bound), and the typical unit's mean is of order 1
// (median between 0.3 and 3).
func TestResponses(t *testing.T) {
	b := testBank(t)
	m := testMouse(t, b, MouseSpec{ID: "resp", Units: 400, Seed: 13})
	const T = 150
	f, err := b.Features(calibrationClip(b.spec, T, 55), T, nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	beh, err := m.Behavior(T, nil, rng)
	if err != nil {
		t.Fatal(err)
	}
	var rate []float32
	var sr, so float64
	for range 20 {
		var obs []float32
		if rate, obs, err = m.Respond(f, beh, rng); err != nil {
			t.Fatal(err)
		}
		for i := range obs {
			if obs[i] < 0 || rate[i] < 0 || math.IsNaN(float64(obs[i])) || math.IsNaN(float64(rate[i])) {
				t.Fatalf("value %d: rate %g, observed %g", i, rate[i], obs[i])
			}
			sr, so = sr+float64(rate[i]), so+float64(obs[i])
		}
	}
	if math.Abs(so/sr-1) > 0.03 {
		t.Errorf("mean observed / mean rate over 20 trials = %.3f, want 1 ± 0.03", so/sr)
	}
	means := meanRates(rate, T, 400, 0)
	slices.Sort(means)
	if med := means[len(means)/2]; med < 0.3 || med > 3 {
		t.Errorf("median unit mean rate %.3f, want 0.3–3", med)
	}
}

func TestRespondInput(t *testing.T) {
	b := testBank(t)
	other := testBank(t)
	m := testMouse(t, b, MouseSpec{ID: "in", Units: 5, Seed: 1})
	const T = 3
	frames := make([]uint8, T*b.spec.Width*b.spec.Height)
	f, err := b.Features(frames, T, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := other.Features(frames, T, nil)
	if err != nil {
		t.Fatal(err)
	}
	nan := m.RestBehavior(T)
	nan.Pupil[1] = float32(math.NaN())
	tests := []struct {
		name string
		f    *Features
		beh  Behavior
		want string
	}{
		{"other bank", g, m.RestBehavior(T), "features from another bank"},
		{"short behaviour", f, m.RestBehavior(T - 1), "want T = 3"},
		{"NaN", f, nan, "NaN at frame 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := m.Respond(tc.f, tc.beh, rand.New(rand.NewPCG(0, 0)))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInput) {
				t.Fatalf("Respond = %v, want an ErrInput containing %q", err, tc.want)
			}
		})
	}
}
