package rfmap

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fmcore/fmcore/internal/metrics"
	"github.com/fmcore/fmcore/internal/sim/mouse"
	"github.com/fmcore/fmcore/internal/sim/stimulus"
)

// digitalMouse returns the truth of a simulated mouse of u units and a Mapper fed with its
// noisy responses (the simulator's default reliability) to clips natural-like clips of 10 s.
func digitalMouse(t *testing.T, u, clips int) (mouse.Truth, *Mapper) {
	t.Helper()
	spec := stimulus.DefaultSpec() // 64×36 pixels, 30 Hz, 10 s
	bank, err := mouse.NewBank(mouse.BankSpec{Width: spec.Width, Height: spec.Height})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mouse.NewMouse(bank, mouse.MouseSpec{ID: "t", Units: u, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	mp, err := New(u, spec.Height, spec.Width, DefaultOptions(spec.RateHz))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for c := range clips {
		clip, err := stimulus.Generate(stimulus.KindNatural, spec, uint64(100+c))
		if err != nil {
			t.Fatal(err)
		}
		feat, err := bank.Features(clip.Frames, clip.T, nil)
		if err != nil {
			t.Fatal(err)
		}
		lum, err := mouse.MeanLuminance(clip.Frames, clip.T)
		if err != nil {
			t.Fatal(err)
		}
		beh, err := m.Behavior(clip.T, lum, rng)
		if err != nil {
			t.Fatal(err)
		}
		_, observed, err := m.Respond(feat, beh, rng)
		if err != nil {
			t.Fatal(err)
		}
		if err := mp.Add(clip.Frames, observed, clip.T); err != nil {
			t.Fatal(err)
		}
	}
	return m.Truth(), mp
}

// medianError returns the median distance, in pixels, between estimated and true centres.
func medianError(centers []float64, truth []float32) float64 {
	d := make([]float64, len(truth)/2)
	for u := range d {
		d[u] = math.Hypot(centers[2*u]-float64(truth[2*u]), centers[2*u+1]-float64(truth[2*u+1]))
	}
	return metrics.Median(d)
}

// TestCentersOfDigitalMouse maps the receptive fields of a digital mouse from 10 minutes
// of noisy responses to natural-like clips (300 units at the simulator's default noise).
// When written: frame centre 16.5 px off (median), each unit alone 15.4 px, pooled over
// cortical neighbours 5.9 px. The bounds: a cell of the release's 16×24 core map at a
// quarter of its resolution (4×6) spans about 13 pixels (25° of the retina's 150°;
// configs/small.yaml's 8×12 map halves it) and the readout position's gradient reaches
// about one cell, so at most 7 px (about half a 4×6 cell, one 8×12 cell); and pooling must
// at least halve the error of each unit alone and of the centre.
func TestCentersOfDigitalMouse(t *testing.T) {
	truth, mp := digitalMouse(t, 300, 60)
	if want := 60 * (300 - DefaultOptions(30).Skip); mp.Frames() != want {
		t.Fatalf("Frames() = %d, want %d", mp.Frames(), want)
	}
	centre := make([]float64, 2*300)
	for u := range 300 {
		centre[2*u], centre[2*u+1] = 31.5, 17.5
	}
	guess := medianError(centre, truth.RFPixel)

	alone, _, err := mp.Centers(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	areas := make([]string, 300)
	for u, a := range truth.Area {
		areas[u] = string(a)
	}
	pooled, peaks, err := mp.Centers(truth.PositionUM, areas)
	if err != nil {
		t.Fatal(err)
	}
	eAlone, ePooled := medianError(alone, truth.RFPixel), medianError(pooled, truth.RFPixel)
	t.Logf("median error: frame centre %.1f px, each unit alone %.1f px, pooled %.1f px", guess, eAlone, ePooled)
	if ePooled > 7 || ePooled > 0.5*eAlone || ePooled > 0.5*guess {
		t.Errorf("pooled median error %.1f px (alone %.1f, frame centre %.1f), want ≤ 7, ≤ 0.5× alone and ≤ 0.5× the centre's", ePooled, eAlone, guess)
	}
	for u, p := range peaks {
		if !(p > 0 && p < 1) {
			t.Fatalf("unit %d: peak correlation %g, want in (0, 1)", u, p)
		}
	}
}

// TestCentersOfPlantedUnits checks the geometry: units that respond to the motion energy
// in a Gaussian window (SD 4 pixels) around a planted point of white-noise frames are
// found there, on a frame larger than the grid (2×2 blocks), with NaN responses left out.
// Within 1 pixel: the peak is taken on the grid of 2-pixel blocks with a parabola between
// cells, and the noise frames leave the correlation map slightly uneven.
func TestCentersOfPlantedUnits(t *testing.T) {
	const H, W, T, sd = 40, 96, 400, 4.0
	opt := DefaultOptions(30)
	opt.Grid = 48 // blocks of 2×2 pixels
	opt.Pool = 0
	planted := []float64{10.5, 8.5, 70.5, 30.5, 47.5, 19.5}
	U := len(planted) / 2
	mp, err := New(U, H, W, opt)
	if err != nil {
		t.Fatal(err)
	}
	window := make([]float64, U*H*W)
	for u := range U {
		for y := range H {
			for x := range W {
				dx, dy := float64(x)-planted[2*u], float64(y)-planted[2*u+1]
				window[(u*H+y)*W+x] = math.Exp(-(dx*dx + dy*dy) / (2 * sd * sd))
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	frames := make([]uint8, T*H*W)
	resp := make([]float32, T*U)
	for range 8 {
		for i := range frames {
			frames[i] = uint8(rng.IntN(256))
		}
		for u := range U {
			var acc float64
			for tt := 1; tt < T; tt++ {
				var e float64
				for p, w := range window[u*H*W : (u+1)*H*W] {
					d := float64(frames[tt*H*W+p]) - float64(frames[(tt-1)*H*W+p])
					e += w * d * d
				}
				acc = 0.9*acc + 0.1*e
				resp[tt*U+u] = float32(acc)
				if tt%17 == u {
					resp[tt*U+u] = float32(math.NaN())
				}
			}
		}
		if err := mp.Add(frames, resp, T); err != nil {
			t.Fatal(err)
		}
	}
	got, _, err := mp.Centers(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for u := range U {
		if d := math.Hypot(got[2*u]-planted[2*u], got[2*u+1]-planted[2*u+1]); d > 1 {
			t.Errorf("unit %d: centre (%.2f, %.2f), planted (%.1f, %.1f): off by %.2f px, want ≤ 1", u, got[2*u], got[2*u+1], planted[2*u], planted[2*u+1], d)
		}
	}
}

func TestErrors(t *testing.T) {
	opt := DefaultOptions(30)
	if _, err := New(0, 36, 64, opt); !errors.Is(err, ErrInput) {
		t.Errorf("New with 0 units: %v, want ErrInput", err)
	}
	bad := opt
	bad.Lag = math.NaN()
	if _, err := New(3, 36, 64, bad); !errors.Is(err, ErrInput) {
		t.Errorf("New with NaN lag: %v, want ErrInput", err)
	}
	mp, err := New(3, 4, 4, opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := mp.Centers(nil, nil); !errors.Is(err, ErrInput) {
		t.Errorf("Centers before any frame: %v, want ErrInput", err)
	}
	if err := mp.Add(make([]uint8, 50*16), make([]float32, 50*2), 50); !errors.Is(err, ErrInput) {
		t.Errorf("Add with 2 responses per frame for 3 units: %v, want ErrInput", err)
	}
	if err := mp.Add(make([]uint8, 50*16), make([]float32, 50*3), 50); err != nil {
		t.Fatal(err)
	}
	if _, _, err := mp.Centers(make([]float32, 6), []string{"V1", "V1", "V1"}); !errors.Is(err, ErrInput) {
		t.Errorf("Centers with 6 cortical coordinates for 3 units: %v, want ErrInput", err)
	}
	nan := make([]float32, 9)
	nan[4] = float32(math.NaN())
	if _, _, err := mp.Centers(nan, []string{"V1", "V1", "V1"}); !errors.Is(err, ErrInput) {
		t.Errorf("Centers with a NaN cortical position: %v, want ErrInput", err)
	}
}
