package mouse

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// TestBehaviorStatistics checks 30 minutes of behaviour of each of four mice against the
// model's intent, with bands wide enough for one mouse's 30 minutes (60–200 bouts):
//   - running is ≥ 0 and comes in bouts: the fraction of time above 2 cm/s is between
//     the mouse's running fraction (0.2–0.5) − 0.1 and + 0.2 (the smooth offsets add
//     about a second per bout above 2 cm/s), and there are at least 40 bouts;
//   - the pupil follows running: corr(pupil, running) > 0.3;
//   - the gaze stays within 20° (saccade landing SD ≤ 5°, pulled back to the centre),
//     its azimuth SD is 1–8°, and large frame-to-frame jumps (> 1.5°, saccades) are rare
//     (< 2 % of frames) but present (≥ 30).
func TestBehaviorStatistics(t *testing.T) {
	b := testBank(t)
	const T = 30 * 1800
	for seed := range uint64(4) {
		m := testMouse(t, b, MouseSpec{ID: "beh", Units: 1, Seed: seed})
		beh, err := m.Behavior(T, nil, rand.New(rand.NewPCG(seed, 1)))
		if err != nil {
			t.Fatal(err)
		}
		running, bouts, jumps := 0, 0, 0
		var maxEye, sumAz, sumAz2 float64
		run64, pup64 := make([]float64, T), make([]float64, T)
		for i := range T {
			v := float64(beh.Running[i])
			if !(v >= 0) {
				t.Fatalf("seed %d frame %d: running %g", seed, i, v)
			}
			if v > 2 {
				running++
				if i > 0 && beh.Running[i-1] <= 2 {
					bouts++
				}
			}
			run64[i], pup64[i] = v, float64(beh.Pupil[i])
			az, el := float64(beh.Eye[2*i]), float64(beh.Eye[2*i+1])
			maxEye = math.Max(maxEye, math.Hypot(az, el))
			sumAz, sumAz2 = sumAz+az, sumAz2+az*az
			if i > 0 && math.Hypot(az-float64(beh.Eye[2*i-2]), el-float64(beh.Eye[2*i-1])) > 1.5 {
				jumps++
			}
		}
		frac := float64(running) / T
		sdAz := math.Sqrt(sumAz2/T - (sumAz/T)*(sumAz/T))
		r := corr(run64, pup64)
		t.Logf("mouse %d: running %.2f (trait %.2f), %d bouts, corr(pupil, running) %.2f, gaze max %.1f° sd %.1f°, %d jumps",
			seed, frac, m.beh.runFrac, bouts, r, maxEye, sdAz, jumps)
		if frac < m.beh.runFrac-0.1 || frac > m.beh.runFrac+0.2 || bouts < 40 {
			t.Errorf("mouse %d: running fraction %.2f (trait %.2f), %d bouts", seed, frac, m.beh.runFrac, bouts)
		}
		if r < 0.3 {
			t.Errorf("mouse %d: corr(pupil, running) = %.2f, want > 0.3", seed, r)
		}
		if maxEye > 20 || sdAz < 1 || sdAz > 8 {
			t.Errorf("mouse %d: gaze max %.1f°, azimuth sd %.1f°", seed, maxEye, sdAz)
		}
		if jumps < 30 || float64(jumps) > 0.02*T {
			t.Errorf("mouse %d: %d saccade-sized jumps in %d frames", seed, jumps, T)
		}
	}
}

// TestPupilLuminance checks that the pupil dilates in the dark: a trial at mean
// luminance 0.2 has a larger mean pupil than one at 0.8, by at least half the mouse's
// dilation per luminance unit times 0.6 (the rest is the slow response at the start).
func TestPupilLuminance(t *testing.T) {
	b := testBank(t)
	m := testMouse(t, b, MouseSpec{ID: "lum", Units: 1, Seed: 3})
	const T = 600
	mean := func(lum float32) float64 {
		l := make([]float32, T)
		for i := range l {
			l[i] = lum
		}
		beh, err := m.Behavior(T, l, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		s := 0.0
		for _, p := range beh.Pupil {
			s += float64(p)
		}
		return s / T
	}
	dark, bright := mean(0.2), mean(0.8)
	if dark-bright < 0.5*0.6*m.beh.pupilLum {
		t.Errorf("pupil %.3f mm in the dark, %.3f mm in the light: want a difference ≥ %.3f", dark, bright, 0.3*m.beh.pupilLum)
	}
}

func TestWithGaps(t *testing.T) {
	b := testBank(t)
	const T = 3000
	for _, frac := range []float64{0, 0.05, 0.2} {
		m := testMouse(t, b, MouseSpec{ID: "gaps", Units: 1, Seed: 1, GapFraction: frac})
		beh, err := m.Behavior(T, nil, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		g := m.WithGaps(beh, rand.New(rand.NewPCG(2, 2)))
		nanP, nanR := 0, 0
		for i := range T {
			p, e0, e1 := isNaN32(g.Pupil[i]), isNaN32(g.Eye[2*i]), isNaN32(g.Eye[2*i+1])
			if p != e0 || p != e1 {
				t.Fatalf("gap fraction %g frame %d: pupil and eye gaps differ", frac, i)
			}
			if !p && g.Pupil[i] != beh.Pupil[i] {
				t.Fatalf("gap fraction %g frame %d: kept pupil changed", frac, i)
			}
			if p {
				nanP++
			}
			if isNaN32(g.Running[i]) {
				nanR++
			}
			if isNaN32(beh.Pupil[i]) || isNaN32(beh.Running[i]) {
				t.Fatalf("WithGaps modified its input")
			}
		}
		want := int(math.Round(frac * T))
		if nanP != want || nanR != want {
			t.Errorf("gap fraction %g: %d pupil and %d running NaN frames, want %d", frac, nanP, nanR, want)
		}
	}
}

func TestBehaviorInput(t *testing.T) {
	b := testBank(t)
	m := testMouse(t, b, MouseSpec{ID: "in", Units: 1, Seed: 1})
	rng := rand.New(rand.NewPCG(1, 1))
	if _, err := m.Behavior(0, nil, rng); !errors.Is(err, ErrInput) {
		t.Errorf("Behavior(0) = %v, want ErrInput", err)
	}
	if _, err := m.Behavior(10, make([]float32, 9), rng); !errors.Is(err, ErrInput) {
		t.Errorf("Behavior with 9 luminance values for 10 frames = %v, want ErrInput", err)
	}
	lum, err := MeanLuminance([]uint8{0, 255, 255, 255, 51, 51}, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0.5, 1, 0.2}
	for i := range want {
		if math.Abs(float64(lum[i]-want[i])) > 1e-6 {
			t.Errorf("MeanLuminance[%d] = %g, want %g", i, lum[i], want[i])
		}
	}
	if _, err := MeanLuminance(make([]uint8, 5), 3); !errors.Is(err, ErrInput) {
		t.Errorf("MeanLuminance of 5 bytes in 3 frames = %v, want ErrInput", err)
	}
}
