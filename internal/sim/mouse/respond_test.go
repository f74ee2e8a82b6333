package mouse

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// smoothClip renders T frames of a sum of drifting gratings (the calibration stimulus's
// broadband half) whose content is shifted by (dx, dy) pixels: frame(x, y) of the
// shifted clip equals frame(x − dx, y − dy) of the unshifted one, exactly.
func smoothClip(spec BankSpec, T int, seed uint64, dx, dy float64) []uint8 {
	w, h := spec.Width, spec.Height
	rng := rand.New(rand.NewPCG(seed, 3))
	type g struct{ kx, ky, om, ph float64 }
	gs := make([]g, 24)
	for i := range gs {
		sf := 0.01 * math.Pow(10, rng.Float64()) // 0.01–0.1 cycles/degree
		th := 2 * math.Pi * rng.Float64()
		k := 2 * math.Pi * sf * spec.DegPerPixel
		gs[i] = g{k * math.Cos(th), k * math.Sin(th), 2 * math.Pi * (0.5 + 4*rng.Float64()) / spec.RateHz, 2 * math.Pi * rng.Float64()}
	}
	amp := 0.25 / math.Sqrt(float64(len(gs))/2)
	out := make([]uint8, T*h*w)
	for t := range T {
		for y := range h {
			for x := range w {
				v := 0.0
				for _, c := range gs {
					v += math.Cos(c.kx*(float64(x)-dx) + c.ky*(float64(y)-dy) - c.om*float64(t) + c.ph)
				}
				out[(t*h+y)*w+x] = toPixel(float32(0.5 + amp*v))
			}
		}
	}
	return out
}

// TestEyeShift checks that moving the image by d pixels and the gaze by the same d
// (converted to degrees, elevation up) leaves the noise-free rate (nearly) unchanged:
// the units sample the shared maps at RF + gaze. Only units whose RF lies at least
// 3σ + |d| inside the frame are compared (elsewhere the frame edge differs). The
// residual comes from rounding the re-rendered frames to uint8, from the normalisation
// pool, whose 20° window covers most of this small frame and so sees the new content at
// its edges (both are there for a shift by a multiple of every grid step, here (−5, 0):
// steps are 5, 2 and 1 px), and from the cubic interpolation of the maps between grid
// nodes (shifts (3, −2) and (1, 1)); all are raised to the unit's exponent of up to 3.
func TestEyeShift(t *testing.T) {
	b := testBank(t)
	m := testMouse(t, b, MouseSpec{ID: "eye", Units: 800, Seed: 5})
	tr := m.Truth()
	const T = 60
	for _, d := range [][2]float64{{3, -2}, {1, 1}, {-5, 0}} {
		ref := respondRest(t, m, smoothClip(b.spec, T, 1, 0, 0), T)
		f, err := b.Features(smoothClip(b.spec, T, 1, d[0], d[1]), T, nil)
		if err != nil {
			t.Fatal(err)
		}
		beh := m.RestBehavior(T)
		for i := range T {
			beh.Eye[2*i] = float32(d[0] * b.spec.DegPerPixel)
			beh.Eye[2*i+1] = float32(-d[1] * b.spec.DegPerPixel)
		}
		got, _, err := m.Respond(f, beh, rand.New(rand.NewPCG(0, 0)))
		if err != nil {
			t.Fatal(err)
		}
		U := len(tr.Class)
		var errs []float64
		for u := range U {
			margin := 3*float64(tr.SigmaPixel[u]) + math.Hypot(d[0], d[1])
			x, y := float64(tr.RFPixel[2*u]), float64(tr.RFPixel[2*u+1])
			if x < margin || y < margin || x > float64(b.spec.Width-1)-margin || y > float64(b.spec.Height-1)-margin {
				continue
			}
			num, den := 0.0, 0.0
			for i := 10; i < T; i++ {
				num += math.Abs(float64(got[i*U+u] - ref[i*U+u]))
				den += float64(ref[i*U+u])
			}
			errs = append(errs, num/den)
		}
		slices.Sort(errs)
		med, worst := errs[len(errs)/2], errs[len(errs)-1]
		t.Logf("shift %v: %d units, relative error median %.4f, max %.4f", d, len(errs), med, worst)
		if len(errs) < 20 {
			t.Errorf("shift %v: only %d units inside the margin", d, len(errs))
		}
		// Measured medians 0.2–1.4 %, maxima 2.6–5.2 % (bilinear interpolation gave up to
		// 21 %); the bounds are about twice that.
		if med > 0.03 || worst > 0.1 {
			t.Errorf("shift %v: relative rate error median %.4f (want ≤ 0.03), max %.4f (want ≤ 0.1)", d, med, worst)
		}
	}
}

// TestReliability checks the noise model against MODEL.md 9.3: on ReliabilityRepeats
// repeats of one clip with fixed behaviour, the median measured CC_max over units rises
// with the configured reliability and lands near it. The clip is a new sample of the
// calibration stimulus, so each unit's signal variance differs from the one its noise
// was calibrated on; over 300 units the median stays within 0.1 of the target.
func TestReliability(t *testing.T) {
	b := testBank(t)
	const T = 300
	f, err := b.Features(calibrationClip(b.spec, T, 777), T, nil)
	if err != nil {
		t.Fatal(err)
	}
	prev := 0.0
	for _, rel := range []float64{0.3, 0.5, 0.7, 0.9} {
		m := testMouse(t, b, MouseSpec{ID: "rel", Units: 300, Seed: 3, Reliability: rel})
		U := 300
		beh := m.RestBehavior(T)
		rng := rand.New(rand.NewPCG(9, 9))
		reps := make([][]float32, ReliabilityRepeats)
		for r := range reps {
			if _, reps[r], err = m.Respond(f, beh, rng); err != nil {
				t.Fatal(err)
			}
		}
		var cc []float64
		x := make([][]float64, len(reps))
		for u := range U {
			for r := range reps {
				x[r] = x[r][:0]
				for i := calibBurnIn; i < T; i++ {
					x[r] = append(x[r], float64(reps[r][i*U+u]))
				}
			}
			v := ccMax(x)
			if math.IsNaN(v) {
				v = 0 // negative signal power: no measurable signal
			}
			cc = append(cc, v)
		}
		slices.Sort(cc)
		med := cc[len(cc)/2]
		t.Logf("reliability %.1f: median CC_max %.3f", rel, med)
		if math.Abs(med-rel) > 0.1 {
			t.Errorf("reliability %.1f: median CC_max %.3f, want within 0.1", rel, med)
		}
		if med <= prev {
			t.Errorf("reliability %.1f: median CC_max %.3f not above %.3f of the previous level", rel, med, prev)
		}
		prev = med
	}
}

// TestRateCeiling checks the dynamic-range bound of calibrate: over a new natural-like
// sample of the calibration stimulus and full-contrast drifting gratings at every bank
// SF and TF (directions 0° and 180°, the preferred stimulus of every orientation-0
// unit), no unit's noise-free rate at rest exceeds RateCeiling times its mean on the
// calibration clip, while units stay selective: most reach several times their mean.
// The bound is exact for the rate before the calcium kernel (its mean over the
// calibration window is the target); the kernel's start-up shifts the measured mean by
// a few per cent, hence the 10 % margin.
func TestRateCeiling(t *testing.T) {
	b := testBank(t)
	m := testMouse(t, b, MouseSpec{ID: "ceil", Units: 300, Seed: 23})
	tr := m.Truth()
	U := len(tr.Class)
	calMean := meanRates(respondRest(t, m, calibrationClip(b.spec, calibFrames, calibSeed), calibFrames), calibFrames, U, calibBurnIn)
	peak := make([]float64, U)
	update := func(rate []float32, T, from int) {
		for i := from; i < T; i++ {
			for u := range U {
				peak[u] = max(peak[u], float64(rate[i*U+u]))
			}
		}
	}
	update(respondRest(t, m, calibrationClip(b.spec, calibFrames, 777), calibFrames), calibFrames, 0)
	nGratings := 0
	if !testing.Short() {
		for _, sf := range b.spec.SF {
			for _, tc := range b.tfs {
				for _, dir := range []float64{0, 180} {
					for _, tf := range []float64{tc.tePeakHz, tc.hz} {
						update(respondRest(t, m, grating(b.spec, tuneFrames, dir, sf, tf, 1), tuneFrames), tuneFrames, 0)
						nGratings++
					}
				}
			}
		}
	}
	worst, selective := 0.0, 0
	for u := range U {
		ratio := peak[u] / calMean[u]
		worst = max(worst, ratio)
		if ratio >= 5 {
			selective++
		}
		if ratio > 1.1*RateCeiling {
			t.Errorf("unit %d (%s, exponent %.2f): peak rate %.3g = %.1f × its calibration mean %.3g, want ≤ %g×",
				u, tr.Class[u], tr.Exponent[u], peak[u], ratio, calMean[u], 1.1*RateCeiling)
		}
	}
	t.Logf("%d gratings: worst peak/mean %.1f, %d of %d units reach ≥ 5× their mean", nGratings, worst, selective, U)
	if selective < U/2 {
		t.Errorf("only %d of %d units reach 5× their calibration mean: the ceiling flattens the responses", selective, U)
	}
}

// TestNoiseDensity checks that calibration gives dense counts (median κ·mean over units
// at least 0.1 per frame, i.e. 3 events/s at 30 Hz; the design value is countsPerFrame
// = 0.2) and that the noise is unbiased: over 100 trials of one clip, the mean of
// observed matches the mean noise-free rate within 4 standard errors (estimated from the
// spread of the per-trial means).
func TestNoiseDensity(t *testing.T) {
	b := testBank(t)
	m := testMouse(t, b, MouseSpec{ID: "dense", Units: 200, Seed: 29})
	tr := m.Truth()
	U := len(tr.Class)
	calMean := meanRates(respondRest(t, m, calibrationClip(b.spec, calibFrames, calibSeed), calibFrames), calibFrames, U, calibBurnIn)
	dens := make([]float64, U)
	for u := range U {
		dens[u] = float64(tr.CountScale[u]) * calMean[u]
	}
	slices.Sort(dens)
	t.Logf("κ·mean: p10 %.3g, median %.3g, p90 %.3g", dens[U/10], dens[U/2], dens[9*U/10])
	if dens[U/2] < 0.1 {
		t.Errorf("median κ·mean %.3g counts per frame, want ≥ 0.1", dens[U/2])
	}

	const T, reps = 60, 100
	f, err := b.Features(smoothClip(b.spec, T, 2, 0, 0), T, nil)
	if err != nil {
		t.Fatal(err)
	}
	beh := m.RestBehavior(T)
	rng := rand.New(rand.NewPCG(4, 4))
	var rateMean float64
	trialMeans := make([]float64, reps)
	for r := range reps {
		rate, obs, err := m.Respond(f, beh, rng)
		if err != nil {
			t.Fatal(err)
		}
		for i := range rate {
			if obs[i] < 0 {
				t.Fatalf("trial %d: observed %g < 0", r, obs[i])
			}
			trialMeans[r] += float64(obs[i]) / float64(len(obs))
			if r == 0 {
				rateMean += float64(rate[i]) / float64(len(rate))
			}
		}
	}
	obsMean := 0.0
	for _, v := range trialMeans {
		obsMean += v / reps
	}
	se := math.Sqrt(variance(trialMeans, 1) / reps)
	t.Logf("mean rate %.4f, mean observed %.4f ± %.4f", rateMean, obsMean, se)
	if math.Abs(obsMean-rateMean) > 4*se {
		t.Errorf("mean observed %.4f, mean rate %.4f: differ by more than 4 standard errors (%.4f)", obsMean, rateMean, se)
	}
}
