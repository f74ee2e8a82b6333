package metrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// handTol is the tolerance for hand-computed values: a handful of float64 operations on small
// integers, so only a few ulps of rounding can separate the code from the exact fraction.
const handTol = 1e-12

var nan = math.NaN()

func TestCCAbsHand(t *testing.T) {
	cases := []struct {
		name       string
		pred, resp []float64
		r, t       int
		want       float64
	}{
		// repeat means p̄ = [1, 2, 3], x̄ = [3, 5, 7]: an exact linear relation
		{"proportional means", []float64{1, 2, 3, 1, 2, 3}, []float64{2, 4, 6, 4, 6, 8}, 2, 3, 1},
		{"reversed", []float64{3, 2, 1}, []float64{1, 2, 3}, 1, 3, -1},
		// p = [1, 2, 4], x = [1, 3, 2]: deviations [−4/3, −1/3, 5/3] and [−1, 1, 0] give
		// Σ dp·dx = 1, Σ dp² = 14/3, Σ dx² = 2, so r = 1/sqrt(28/3).
		{"hand fraction", []float64{1, 2, 4}, []float64{1, 3, 2}, 1, 3, 1 / math.Sqrt(28.0/3)},
		// a NaN repeat is ignored by the repeat mean: same means as "proportional means"
		{"nan repeat", []float64{1, 2, 3, nan, nan, nan}, []float64{2, 4, 6, nan, nan, nan}, 2, 3, 1},
		// sample 2 has no valid response: left out, the other two are perfectly correlated
		{"empty sample dropped", []float64{1, 2, 9}, []float64{1, 2, nan}, 1, 3, 1},
		{"constant prediction", []float64{1, 1, 1}, []float64{1, 2, 3}, 1, 3, nan},
		{"one sample", []float64{1}, []float64{2}, 1, 1, nan},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := CCAbs(c.pred, c.resp, c.r, c.t)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got, c.want, handTol) {
				t.Errorf("CCAbs = %.17g, want %.17g", got, c.want)
			}
		})
	}
}

func TestCCMaxHand(t *testing.T) {
	cases := []struct {
		name string
		resp []float64
		r, t int
		want float64
	}{
		// ȳ = [2, 2, 4]: P = 4/3, var0 = 8/9; row variances 1 and 7/3, TP = 5/3; n = 2:
		// SP = (8/3 − 5/3)/1 = 1, CC_max = sqrt(1/(8/9)) = sqrt(9/8).
		{"two repeats", []float64{1, 2, 3, 3, 2, 5}, 2, 3, math.Sqrt(9.0 / 8)},
		// Noiseless repeats: SP = P (ddof 1) over var0 (ddof 0) gives sqrt(T/(T−1)) > 1.
		{"noiseless", []float64{1, 2, 3, 4, 1, 2, 3, 4}, 2, 4, math.Sqrt(4.0 / 3)},
		// ȳ = [1, 1, .5, .5]: P = 1/12, TP = 11/12, SP = (2/12 − 11/12) < 0 → NaN.
		{"negative signal power", []float64{2, 0, 1, 0, 0, 2, 0, 1}, 2, 4, nan},
		{"single repeat", []float64{1, 2, 3}, 1, 3, nan},
		{"constant mean", []float64{1, 2, 3, 3, 2, 1}, 2, 3, nan},
		// The third repeat only covers sample 0 and is dropped from TP (one valid value); the
		// counts t = [3, 2, 2] give n² = 4/(2/9 + 1/4 + 1/4) = 144/26; ȳ = [2, 2, 4] as in
		// "two repeats" once sample 0 averages 1, 3 and 2.
		{"partial repeat", []float64{1, 2, 3, 3, 2, 5, 2, nan, nan}, 3, 3,
			func() float64 {
				n := math.Sqrt(144.0 / 26)
				sp := (n*4.0/3 - 5.0/3) / (n - 1)
				return math.Sqrt(sp / (8.0 / 9))
			}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := CCMax(c.resp, c.r, c.t)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got, c.want, handTol) {
				t.Errorf("CCMax = %.17g, want %.17g", got, c.want)
			}
		})
	}
}

func TestEffectiveRepeats(t *testing.T) {
	for _, r := range []int{2, 3, 7, 10, 33} {
		for _, n := range []int{1, 8, 15, 299, 1740} {
			cnt := make([]int, n)
			for j := range cnt {
				cnt[j] = r
			}
			if got := effectiveRepeats(cnt); got != float64(r) {
				t.Errorf("complete data, R=%d T=%d: n = %.17g, want exactly %d", r, n, got, r)
			}
		}
	}
	// t = [4, 3]: n² = (3 + 2) / (3/16 + 2/9); samples without a valid repeat are skipped.
	want := math.Sqrt(5 / (3.0/16 + 2.0/9))
	if got := effectiveRepeats([]int{4, 0, 3}); !near(got, want, handTol) {
		t.Errorf("counts [4 0 3]: n = %.17g, want %.17g", got, want)
	}
	if got := effectiveRepeats([]int{1, 1, 0}); !math.IsNaN(got) {
		t.Errorf("single repeats: n = %g, want NaN", got)
	}
}

func TestFEVEHand(t *testing.T) {
	// x = [[1, 3], [3, 5]]: column variances 2 and 2 → σ²_noise = 2; σ²_total = 8/3;
	// FEV = (8/3 − 2)/(8/3) = 1/4. Predicting the column means [2, 4] gives MSE = 1 and
	// FEVE = 1 − (1 − 2)/(8/3 − 2) = 5/2.
	resp := []float64{1, 3, 3, 5}
	pred := []float64{2, 4, 2, 4}
	fev, feve, err := FEVE(pred, resp, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !near(fev, 0.25, handTol) || !near(feve, 2.5, handTol) {
		t.Errorf("FEVE = (%.17g, %.17g), want (0.25, 2.5)", fev, feve)
	}

	mean, kept := MeanFEVE([]float64{0.1, 0.2, 0.5, nan, 0.15}, []float64{9, 0.4, 0.6, 1, nan}, FEVThreshold)
	if kept != 2 || !near(mean, 0.5, handTol) {
		t.Errorf("MeanFEVE = %g over %d units, want 0.5 over 2 (FEV 0.1 and NaN and FEVE NaN dropped)", mean, kept)
	}
}

func TestPoissonLossHand(t *testing.T) {
	// ln 2 rounded to float32, the value the function actually sees.
	ln2 := float64(float32(math.Ln2))
	cases := []struct {
		name      string
		r, y      []float32
		want      float64
		wantCount int
	}{
		// exp(0) − 3·0 = 1 and exp(r) − 1·r at r ≈ ln 2; the NaN target is skipped.
		{"masked", []float32{0, float32(ln2), 0}, []float32{3, 1, float32(nan)}, (1 + math.Exp(ln2) - ln2) / 2, 2},
		// MODEL.md 9.9: the constant rate 1 (r = 0) scores exactly 1 on any target.
		{"baseline", []float32{0, 0, 0}, []float32{0, 2.5, 7}, 1, 3},
		{"all masked", []float32{1}, []float32{float32(nan)}, nan, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, n, err := PoissonLoss(c.r, c.y)
			if err != nil {
				t.Fatal(err)
			}
			if n != c.wantCount || !near(got, c.want, handTol) {
				t.Errorf("PoissonLoss = %.17g over %d, want %.17g over %d", got, n, c.want, c.wantCount)
			}
		})
	}
}

func TestQuantile(t *testing.T) {
	cases := []struct {
		name string
		x    []float64
		q    float64
		want float64
	}{
		{"odd median", []float64{3, 1, nan, 2}, 0.5, 2},
		{"even median", []float64{4, 1, 3, 2}, 0.5, 2.5},
		{"first quartile", []float64{1, 2, 3, 4}, 0.25, 1.75}, // position 0.75 between 1 and 2
		{"min", []float64{5, -1, 2}, 0, -1},
		{"max", []float64{5, -1, 2}, 1, 5},
		{"all nan", []float64{nan, nan}, 0.5, nan},
		{"empty", nil, 0.5, nan},
		{"q out of range", []float64{1, 2}, 1.5, nan},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := append([]float64(nil), c.x...)
			if got := Quantile(c.x, c.q); !near(got, c.want, handTol) {
				t.Errorf("Quantile = %g, want %g", got, c.want)
			}
			for i := range in {
				if !near(c.x[i], in[i], 0) {
					t.Fatalf("Quantile modified its input")
				}
			}
		})
	}
	if got := Median([]float64{0.7, nan, 0.5, 0.6}); !near(got, 0.6, handTol) {
		t.Errorf("Median = %g, want 0.6", got)
	}
}

// synthRepeats fills x [r, t] with signal s_t ~ N(0, σs²) plus i.i.d. noise N(0, σn²) and
// returns the signal. Repeats r ≥ rFull are NaN on odd samples when rFull < r.
func synthRepeats(rng *rand.Rand, r, t, rFull int, sigS, sigN float64) (x []float64, s []float64) {
	x = make([]float64, r*t)
	s = make([]float64, t)
	for j := range s {
		s[j] = sigS * rng.NormFloat64()
	}
	for i := 0; i < r; i++ {
		for j := 0; j < t; j++ {
			if i >= rFull && j%2 == 1 {
				x[i*t+j] = nan
				continue
			}
			x[i*t+j] = s[j] + sigN*rng.NormFloat64()
		}
	}
	return x, s
}

// meanSE returns the mean of v and its standard error.
func meanSE(v []float64) (mean, se float64) {
	for _, e := range v {
		mean += e
	}
	mean /= float64(len(v))
	var ss float64
	for _, e := range v {
		ss += (e - mean) * (e - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)-1) / float64(len(v)))
}

// TestCCMaxSynthetic checks MODEL.md 12.6 items 15 and 16 on responses built as signal plus
// independent noise. With σs² = 1, σn² = 4 and R repeats, the repeat mean ȳ has variance
// σs² + σn²·m with m = mean_j 1/t_j (m = 1/R on complete data). In expectation P = σs² + σn²·m,
// TP = σs² + σn², so SP = σs² + σn²(n·m − 1)/(n − 1) (= σs² when n = 1/m, as on complete data),
// and var0 = (T−1)/T · P. Hence
//
//	CC_max ≈ sqrt( SP / P · T/(T−1) ),
//
// which on complete data is MODEL.md's sqrt(σs² / (σs² + σn²/R)) up to the T/(T−1) ddof
// factor. The prediction "true signal" has CC_abs = corr(s, ȳ) ≈ that same value, so CC_norm ≈
// sqrt((T−1)/T) ≈ 1. Each quantity is averaged over 16 independent data sets; the mean must lie
// within 4 standard errors of the expectation (a 6e-5 chance to fail for a correct estimator;
// the seeds are fixed, so it is deterministic), and the standard error must be small enough for
// the check to mean something.
func TestCCMaxSynthetic(t *testing.T) {
	const (
		sets = 16
		r    = 10
		tt   = 2000
		sigS = 1.0
		sigN = 2.0
	)
	cases := []struct {
		name  string
		rFull int // repeats present on every sample; the others miss odd samples
	}{
		{"complete", r},
		{"nan padded", r - 3},
	}
	for k, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(k), 2025))
			// On even samples t_j = R, on odd ones rFull; m = mean 1/t_j.
			m := (1.0/float64(r) + 1.0/float64(c.rFull)) / 2
			n := effectiveRepeats(append(repeatInts(r, tt/2), repeatInts(c.rFull, tt/2)...))
			vs, vn := sigS*sigS, sigN*sigN
			p := vs + vn*m
			sp := vs + vn*(n*m-1)/(n-1)
			wantMax := math.Sqrt(sp / p * tt / (tt - 1))
			wantNorm := math.Sqrt(vs/p) / wantMax

			var ccMaxs, ccNorms []float64
			for range sets {
				x, s := synthRepeats(rng, r, tt, c.rFull, sigS, sigN)
				pred := make([]float64, r*tt)
				for i := 0; i < r; i++ {
					copy(pred[i*tt:(i+1)*tt], s)
				}
				cm, err := CCMax(x, r, tt)
				if err != nil {
					t.Fatal(err)
				}
				cn, err := CCNorm(pred, x, r, tt)
				if err != nil {
					t.Fatal(err)
				}
				ccMaxs = append(ccMaxs, cm)
				ccNorms = append(ccNorms, cn)
			}
			for _, q := range []struct {
				name string
				v    []float64
				want float64
			}{{"CC_max", ccMaxs, wantMax}, {"CC_norm", ccNorms, wantNorm}} {
				mean, se := meanSE(q.v)
				t.Logf("%s: mean %.5f ± %.5f over %d sets, expected %.5f", q.name, mean, se, sets, q.want)
				// 0.005: at T = 2000 the variance estimates carry a relative error of about
				// sqrt(2/T) ≈ 0.03, halved by the square root and partly cancelling between SP
				// and var0, so one set spreads by ≲ 0.01 and 16 sets give an SE ≲ 0.003
				// (measured: 0.0012 to 0.0021).
				if se > 0.005 {
					t.Errorf("%s: standard error %.4f over %d sets, estimator too noisy", q.name, se, sets)
				}
				if math.Abs(mean-q.want) > 4*se {
					t.Errorf("%s: mean %.5f ± %.5f over %d sets, want %.5f", q.name, mean, se, sets, q.want)
				}
			}
		})
	}
}

func repeatInts(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestSingleTrialCorrelation(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const neurons, frames = 3, 120
	x := make([]float32, frames*neurons)
	p := make([]float32, frames*neurons)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
		p[i] = x[i]
	}
	for k := 0; k < frames; k++ {
		p[k*neurons+2] = 0.5 // neuron 2: constant prediction
	}

	t.Run("identical and constant", func(t *testing.T) {
		acc, err := NewSingleTrialCorrelation(neurons, SensoriumSkipFrames)
		if err != nil {
			t.Fatal(err)
		}
		if err := acc.Add(p, x, frames); err != nil {
			t.Fatal(err)
		}
		rho := acc.PerNeuron()
		// Identical inputs: σ²/(σ + ε)² = 1 − 2ε/σ + …; σ ≈ 1 here, so 1e-7 covers the ε terms.
		for i := 0; i < 2; i++ {
			if math.Abs(rho[i]-1) > 1e-7 {
				t.Errorf("neuron %d: ρ = %.12g for identical inputs, want 1", i, rho[i])
			}
		}
		if rho[2] != 0 {
			t.Errorf("constant prediction: ρ = %g, want exactly 0 (not NaN)", rho[2])
		}
	})

	t.Run("short trial contributes nothing", func(t *testing.T) {
		acc, _ := NewSingleTrialCorrelation(neurons, SensoriumSkipFrames)
		if err := acc.Add(p[:50*neurons], x[:50*neurons], 50); err != nil {
			t.Fatal(err)
		}
		for i, v := range acc.PerNeuron() {
			if v != 0 {
				t.Errorf("neuron %d: ρ = %g with no scored frame, want 0", i, v)
			}
		}
	})

	t.Run("trial split invariance", func(t *testing.T) {
		// Without skipped frames, one trial or the same samples split into trials of 7, 50 and
		// 63 frames must pool to the same correlation: this checks the trial merge.
		noisy := make([]float32, len(p))
		for i := range noisy {
			noisy[i] = p[i] + float32(rng.NormFloat64()) + 100 // offset tests the centring
		}
		whole, _ := NewSingleTrialCorrelation(neurons, 0)
		if err := whole.Add(noisy, x, frames); err != nil {
			t.Fatal(err)
		}
		split, _ := NewSingleTrialCorrelation(neurons, 0)
		for _, b := range [][2]int{{0, 7}, {7, 57}, {57, 120}} {
			lo, hi := b[0]*neurons, b[1]*neurons
			if err := split.Add(noisy[lo:hi], x[lo:hi], b[1]-b[0]); err != nil {
				t.Fatal(err)
			}
		}
		a, b := whole.PerNeuron(), split.PerNeuron()
		for i := range a {
			// Both paths are float64 sums over 120 values of size ~100: 1e-12 is a few
			// thousand ulps, far below any formula error.
			if !near(a[i], b[i], 1e-12) {
				t.Errorf("neuron %d: whole %.17g, split %.17g", i, a[i], b[i])
			}
		}
	})

	if got := PooledMean([]float64{1, 1, 1}, []float64{0}); got != 0.75 {
		t.Errorf("PooledMean = %g, want 0.75 (neuron-weighted, not mean of mouse means 0.5)", got)
	}
}

func TestErrors(t *testing.T) {
	if _, err := CCAbs([]float32{1, 2}, []float32{1, 2, 3}, 1, 3); !errors.Is(err, ErrShape) {
		t.Errorf("CCAbs length mismatch: err = %v, want ErrShape", err)
	}
	if _, err := CCMax([]float64{1}, 0, 1); !errors.Is(err, ErrShape) {
		t.Errorf("CCMax zero repeats: err = %v, want ErrShape", err)
	}
	if _, _, err := FEVE([]float64{1, 2}, []float64{1, 2}, 2, 2); !errors.Is(err, ErrShape) {
		t.Errorf("FEVE length mismatch: err = %v, want ErrShape", err)
	}
	if _, _, err := PoissonLoss([]float32{1}, []float32{1, 2}); !errors.Is(err, ErrShape) {
		t.Errorf("PoissonLoss length mismatch: err = %v, want ErrShape", err)
	}
	if _, err := NewSingleTrialCorrelation(0, 50); err == nil {
		t.Error("NewSingleTrialCorrelation(0 neurons): no error")
	}
	acc, _ := NewSingleTrialCorrelation(2, 0)
	if err := acc.Add(make([]float32, 6), make([]float32, 4), 3); !errors.Is(err, ErrShape) {
		t.Errorf("SingleTrialCorrelation.Add mismatch: err = %v, want ErrShape", err)
	}
}

func TestOracle(t *testing.T) {
	const units, burnin = 2, 3
	trial := func(frames int, v float32) []float32 {
		out := make([]float32, frames*units)
		for k := range frames {
			for u := range units {
				out[k*units+u] = v + float32(k*(u+1)%5)
			}
		}
		return out
	}

	t.Run("padding and burn-in", func(t *testing.T) {
		// Clip a has two repeats of 6 frames, clip b one repeat of 5: after a 3-frame burn-in
		// each unit is a [2, 3+2] block whose second repeat is NaN over clip b.
		o, err := NewOracle(units, burnin)
		if err != nil {
			t.Fatal(err)
		}
		add := func(key string, frames int, v float32) {
			t.Helper()
			if err := o.Add(key, trial(frames, v), trial(frames, 2*v), frames); err != nil {
				t.Fatal(err)
			}
		}
		add("a", 6, 1)
		add("b", 5, 3)
		add("a", 6, 2)
		got, err := o.Scores()
		if err != nil {
			t.Fatal(err)
		}
		for u := range units {
			// Row i of the block: clip a's repeat i, then clip b's (NaN when missing), both
			// after the burn-in; responses were added with the offset doubled.
			var pred, resp []float32
			for _, row := range []struct{ va, vb float32 }{{1, 3}, {2, float32(nan)}} {
				for _, part := range []struct {
					frames int
					v      float32
				}{{6, row.va}, {5, row.vb}} {
					p, x := trial(part.frames, part.v), trial(part.frames, 2*part.v)
					for k := burnin; k < part.frames; k++ {
						pred = append(pred, p[k*units+u])
						resp = append(resp, x[k*units+u])
					}
				}
			}
			want := scoreUnit(newScratch(5), pred, resp, 2, 5)
			if !near(got[u].CCAbs, want.CCAbs, 0) || !near(got[u].CCMax, want.CCMax, 0) || !near(got[u].FEVE, want.FEVE, 0) {
				t.Errorf("unit %d: Oracle %+v, hand-assembled block %+v", u, got[u], want)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		o, _ := NewOracle(units, burnin)
		if _, err := o.Scores(); err == nil {
			t.Error("Scores with no trials: no error")
		}
		if err := o.Add("a", trial(3, 0), trial(3, 0), 3); err == nil {
			t.Error("trial no longer than the burn-in: no error")
		}
		if err := o.Add("a", trial(5, 0), trial(4, 0), 5); !errors.Is(err, ErrShape) {
			t.Errorf("length mismatch: err = %v, want ErrShape", err)
		}
		if err := o.Add("a", trial(5, 0), trial(5, 0), 5); err != nil {
			t.Fatal(err)
		}
		if err := o.Add("a", trial(6, 0), trial(6, 0), 6); err == nil {
			t.Error("repeat with a different frame count: no error")
		}
		if _, err := NewOracle(0, 10); err == nil {
			t.Error("NewOracle(0 units): no error")
		}
		if _, err := NewOracle(3, -1); err == nil {
			t.Error("NewOracle(negative burn-in): no error")
		}
	})
}

func TestTranspose(t *testing.T) {
	// Sizes straddle the 32-wide tile.
	for _, sz := range [][2]int{{1, 1}, {3, 70}, {33, 31}, {64, 5}} {
		rows, cols := sz[0], sz[1]
		src := make([]float32, rows*cols)
		for i := range src {
			src[i] = float32(i)
		}
		dst := transpose(src, rows, cols)
		for i := range rows {
			for j := range cols {
				if dst[j*rows+i] != src[i*cols+j] {
					t.Fatalf("%d×%d: dst[%d,%d] = %g, want %g", rows, cols, j, i, dst[j*rows+i], src[i*cols+j])
				}
			}
		}
	}
}
