package rfmap

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
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
// cortical neighbours 5.9 px, with the retinotopic map of each area 2.6 px. The bounds: a
// cell of the release's 16×24 core map at a quarter of its resolution (4×6) spans about 13
// pixels (25° of the retina's 150°; configs/small.yaml's 8×12 map halves it) and the
// readout position's gradient reaches about one cell, so at most 7 px (about half a 4×6
// cell, one 8×12 cell); pooling must at least halve the error of each unit alone and of
// the centre; the retinotopic map must take at least a quarter off the pooled error (the
// simulator's scatter around its areas' maps, 3–6°, is 1.6–3.2 px per axis, the floor).
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
	mp.opt.Retinotopy = false
	pooled, _, err := mp.Centers(truth.PositionUM, areas)
	if err != nil {
		t.Fatal(err)
	}
	mp.opt.Retinotopy = true
	fitted, peaks, err := mp.Centers(truth.PositionUM, areas)
	if err != nil {
		t.Fatal(err)
	}
	eAlone, ePooled, eFitted := medianError(alone, truth.RFPixel), medianError(pooled, truth.RFPixel), medianError(fitted, truth.RFPixel)
	t.Logf("median error: frame centre %.1f px, each unit alone %.1f px, pooled %.1f px, retinotopic map %.1f px", guess, eAlone, ePooled, eFitted)
	if ePooled > 7 || ePooled > 0.5*eAlone || ePooled > 0.5*guess {
		t.Errorf("pooled median error %.1f px (alone %.1f, frame centre %.1f), want ≤ 7, ≤ 0.5× alone and ≤ 0.5× the centre's", ePooled, eAlone, guess)
	}
	if eFitted > 0.75*ePooled {
		t.Errorf("retinotopic map's median error %.1f px, want ≤ 0.75× the pooled centres' %.1f", eFitted, ePooled)
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

// TestRetinotopyOnlyWhereItFits plants 80 units in each of two areas, strips of cortex
// 1000 × 20 µm, on white-noise frames (responses to the motion energy in a Gaussian window,
// SD 3 pixels, around each centre, with multiplicative noise of SD 1):
// in area "line" the centre moves linearly with cortical position, in area "fold" it
// folds back at the middle of the area (as at the border of two mirror-image maps), where
// no affine map fits. The line's units must end nearer their centres than pooling alone
// puts them; the fold's must keep the pooled centres exactly, since its best affine map
// explains their maps worse than their neighbours do.
func TestRetinotopyOnlyWhereItFits(t *testing.T) {
	const H, W, T, sd, perArea = 36, 64, 300, 3.0, 80
	U := 2 * perArea
	rng := rand.New(rand.NewPCG(5, 6))
	cortex := make([]float32, 3*U)
	areas := make([]string, U)
	planted := make([]float64, 2*U)
	for u := range U {
		s := rng.Float64() // position along the area, 0..1
		cortex[3*u], cortex[3*u+1] = float32(1000*s), float32(20*rng.Float64())
		planted[2*u+1] = 17.5 + 2*rng.NormFloat64()
		if u < perArea {
			areas[u] = "line"
			planted[2*u] = 6 + 52*s
		} else {
			areas[u] = "fold"
			planted[2*u] = 6 + 52*math.Abs(2*s-1)
		}
	}
	opt := DefaultOptions(30)
	mp, err := New(U, H, W, opt)
	if err != nil {
		t.Fatal(err)
	}
	frames := make([]uint8, T*H*W)
	resp := make([]float32, T*U)
	energy := make([]float64, H*W)
	for range 6 {
		for i := range frames {
			frames[i] = uint8(rng.IntN(256))
		}
		acc := make([]float64, U)
		for tt := 1; tt < T; tt++ {
			for p := range energy {
				d := float64(frames[tt*H*W+p]) - float64(frames[(tt-1)*H*W+p])
				energy[p] = d * d
			}
			for u := range U {
				var e float64
				x0, y0 := planted[2*u], planted[2*u+1]
				for y := max(0, int(y0-3*sd)); y < min(H, int(y0+3*sd)+1); y++ {
					for x := max(0, int(x0-3*sd)); x < min(W, int(x0+3*sd)+1); x++ {
						dx, dy := float64(x)-x0, float64(y)-y0
						e += math.Exp(-(dx*dx+dy*dy)/(2*sd*sd)) * energy[y*W+x]
					}
				}
				acc[u] = 0.9*acc[u] + 0.1*e
				resp[tt*U+u] = float32(acc[u] * (1 + rng.NormFloat64()))
			}
		}
		if err := mp.Add(frames, resp, T); err != nil {
			t.Fatal(err)
		}
	}
	mp.opt.Retinotopy = false
	pooled, _, err := mp.Centers(cortex, areas)
	if err != nil {
		t.Fatal(err)
	}
	mp.opt.Retinotopy = true
	fitted, _, err := mp.Centers(cortex, areas)
	if err != nil {
		t.Fatal(err)
	}
	line, fold := 2*perArea, 2*U
	ePooled, eFitted := medianError(pooled[:line], toFloat32(planted[:line])), medianError(fitted[:line], toFloat32(planted[:line]))
	t.Logf("line: median error pooled %.2f px, retinotopic map %.2f px; fold: pooled %.2f px, after %.2f px", ePooled, eFitted,
		medianError(pooled[line:fold], toFloat32(planted[line:fold])), medianError(fitted[line:fold], toFloat32(planted[line:fold])))
	if eFitted >= ePooled {
		t.Errorf("line: retinotopic map's median error %.2f px, want below the pooled centres' %.2f", eFitted, ePooled)
	}
	if !slices.Equal(fitted[line:fold], pooled[line:fold]) {
		t.Errorf("fold: centres changed by an affine map that does not fit it")
	}
}

func toFloat32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
