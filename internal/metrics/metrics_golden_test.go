package metrics

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// goldenTol is the tolerance against the numpy goldens. Both sides compute in float64 on
// identical float32-representable inputs; only the summation order differs (numpy sums
// pairwise), which moves results by about 1e-15 relative on these few hundred samples.
// 1e-9 leaves a wide margin for that and still catches any formula difference.
const goldenTol = 1e-9

// jfloat is a float64 that decodes JSON null as NaN (make_golden.py writes NaN as null).
type jfloat float64

func (f *jfloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = jfloat(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = jfloat(v)
	return nil
}

type goldenScores struct {
	CCAbs  jfloat `json:"cc_abs"`
	CCMax  jfloat `json:"cc_max"`
	CCNorm jfloat `json:"cc_norm"`
	FEV    jfloat `json:"fev"`
	FEVE   jfloat `json:"feve"`
}

type goldenTrial struct {
	Key    string   `json:"key"`
	Frames int      `json:"frames"`
	Pred   []jfloat `json:"pred"`
	Resp   []jfloat `json:"resp"`
}

type golden struct {
	Provenance string `json:"provenance"`
	Units      []struct {
		goldenScores
		Name string   `json:"name"`
		R    int      `json:"r"`
		T    int      `json:"t"`
		Pred []jfloat `json:"pred"`
		Resp []jfloat `json:"resp"`
	} `json:"units"`
	Oracle struct {
		Units    int            `json:"units"`
		Burnin   int            `json:"burnin"`
		Trials   []goldenTrial  `json:"trials"`
		Expected []goldenScores `json:"expected"`
	} `json:"oracle"`
	SingleTrial struct {
		Skip int `json:"skip"`
		Mice []struct {
			Neurons  int           `json:"neurons"`
			Trials   []goldenTrial `json:"trials"`
			Expected []jfloat      `json:"expected"`
		} `json:"mice"`
		Pooled float64 `json:"pooled"`
	} `json:"single_trial"`
	Poisson struct {
		LogRate []jfloat `json:"log_rate"`
		Target  []jfloat `json:"target"`
		Mean    float64  `json:"mean"`
		Count   int      `json:"count"`
	} `json:"poisson"`
	Quantiles struct {
		Values   []jfloat  `json:"values"`
		Q        []float64 `json:"q"`
		Expected []float64 `json:"expected"`
	} `json:"quantiles"`
}

func loadGolden(t *testing.T) *golden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden.json"))
	if err != nil {
		t.Fatalf("read golden (regenerate with testdata/make_golden.py): %v", err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("decode golden: %v", err)
	}
	return &g
}

func f32(v []jfloat) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func f64(v []jfloat) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// near reports whether got equals want within tol relative to max(1, |want|), with NaN equal
// only to NaN.
func near(got, want, tol float64) bool {
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func checkScores(t *testing.T, got UnitScore, want goldenScores) {
	t.Helper()
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"cc_abs", got.CCAbs, float64(want.CCAbs)},
		{"cc_max", got.CCMax, float64(want.CCMax)},
		{"cc_norm", got.CCNorm, float64(want.CCNorm)},
		{"fev", got.FEV, float64(want.FEV)},
		{"feve", got.FEVE, float64(want.FEVE)},
	} {
		if !near(c.got, c.want, goldenTol) {
			t.Errorf("%s = %.17g, numpy %.17g", c.name, c.got, c.want)
		}
	}
}

// TestGoldenUnits compares the per-unit functions, on float32 and float64 inputs, with numpy.
func TestGoldenUnits(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Units {
		t.Run(c.Name, func(t *testing.T) {
			p32, x32 := f32(c.Pred), f32(c.Resp)
			var got UnitScore
			var err error
			if got.CCAbs, err = CCAbs(p32, x32, c.R, c.T); err != nil {
				t.Fatal(err)
			}
			if got.CCMax, err = CCMax(x32, c.R, c.T); err != nil {
				t.Fatal(err)
			}
			if got.CCNorm, err = CCNorm(p32, x32, c.R, c.T); err != nil {
				t.Fatal(err)
			}
			if got.FEV, got.FEVE, err = FEVE(p32, x32, c.R, c.T); err != nil {
				t.Fatal(err)
			}
			checkScores(t, got, c.goldenScores)

			// The float64 instantiation must agree with the float32 one: same values, same sums.
			s := newScratch(c.T)
			checkScores(t, scoreUnit(s, f64(c.Pred), f64(c.Resp), c.R, c.T), c.goldenScores)
		})
	}
}

// TestGoldenOracle feeds interleaved trials of three clips with 4, 2 and 3 repeats and checks
// burn-in, NaN padding and concatenation against numpy's pad-and-concatenate.
func TestGoldenOracle(t *testing.T) {
	g := loadGolden(t).Oracle
	o, err := NewOracle(g.Units, g.Burnin)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range g.Trials {
		if err := o.Add(tr.Key, f32(tr.Pred), f32(tr.Resp), tr.Frames); err != nil {
			t.Fatal(err)
		}
	}
	if o.Clips() != 3 {
		t.Fatalf("Clips() = %d, want 3", o.Clips())
	}
	scores, err := o.Scores()
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != len(g.Expected) {
		t.Fatalf("%d scores, want %d", len(scores), len(g.Expected))
	}
	for u := range scores {
		checkScores(t, scores[u], g.Expected[u])
	}
}

// TestGoldenSingleTrial checks the SENSORIUM correlation, including masked samples and a
// constant prediction, and the pooled mean over two mice.
func TestGoldenSingleTrial(t *testing.T) {
	g := loadGolden(t).SingleTrial
	var all [][]float64
	for m, mouse := range g.Mice {
		acc, err := NewSingleTrialCorrelation(mouse.Neurons, g.Skip)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range mouse.Trials {
			if err := acc.Add(f32(tr.Pred), f32(tr.Resp), tr.Frames); err != nil {
				t.Fatal(err)
			}
		}
		rho := acc.PerNeuron()
		for i, want := range mouse.Expected {
			if !near(rho[i], float64(want), goldenTol) {
				t.Errorf("mouse %d neuron %d: ρ = %.17g, numpy %.17g", m, i, rho[i], float64(want))
			}
		}
		all = append(all, rho)
	}
	if got := PooledMean(all...); !near(got, g.Pooled, goldenTol) {
		t.Errorf("PooledMean = %.17g, numpy %.17g", got, g.Pooled)
	}
}

func TestGoldenPoissonAndQuantiles(t *testing.T) {
	g := loadGolden(t)
	mean, n, err := PoissonLoss(f32(g.Poisson.LogRate), f32(g.Poisson.Target))
	if err != nil {
		t.Fatal(err)
	}
	if n != g.Poisson.Count || !near(mean, g.Poisson.Mean, goldenTol) {
		t.Errorf("PoissonLoss = %.17g over %d, numpy %.17g over %d", mean, n, g.Poisson.Mean, g.Poisson.Count)
	}
	v := f64(g.Quantiles.Values)
	for i, q := range g.Quantiles.Q {
		if got := Quantile(v, q); !near(got, g.Quantiles.Expected[i], goldenTol) {
			t.Errorf("Quantile(%g) = %.17g, numpy nanquantile %.17g", q, got, g.Quantiles.Expected[i])
		}
	}
}
