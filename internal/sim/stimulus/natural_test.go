package stimulus

import (
	"math"
	"slices"
	"testing"
)

// naturalClips renders the default 10 s natural clip for a few seeds, at the SENSORIUM size and
// (outside -short) at 128×72, so the statistics are checked at more than one resolution.
func naturalClips(t *testing.T) []*Clip {
	t.Helper()
	type run struct {
		w, h int
		seed uint64
	}
	runs := []run{{64, 36, 1}, {64, 36, 2}, {64, 36, 3}}
	if !testing.Short() {
		runs = append(runs, run{128, 72, 4})
	}
	var clips []*Clip
	for _, r := range runs {
		s := DefaultSpec()
		s.Width, s.Height = r.w, r.h
		c, err := Generate(KindNatural, s, r.seed)
		if err != nil {
			t.Fatal(err)
		}
		clips = append(clips, c)
	}
	return clips
}

// sampleFrames returns every 10th frame of c (one every third of a second at 30 Hz).
func sampleFrames(c *Clip) [][]uint8 {
	var fr [][]uint8
	for i := 0; i < c.T; i += 10 {
		fr = append(fr, c.Frame(i))
	}
	return fr
}

func TestNaturalSpectrum(t *testing.T) {
	for _, c := range naturalClips(t) {
		// Fit between 2 cycles per frame height (above the Hann window's main lobe) and a
		// quarter cycle per pixel (below where bilinear resampling and 8-bit quantization
		// bend the spectrum).
		slope := spectralSlope(sampleFrames(c), c.H, c.W, 2/float64(c.H), 0.25)
		// Natural images have slope ≈ −1 (van der Schaaf & van Hateren 1996, spread about ±0.2
		// across images). The background's exponent is drawn from [0.9, 1.1] and hard-edged
		// occluding objects steepen the spectrum, so ±0.4 allows for both and for the finite
		// frame (measured −0.97 … −1.24 over eight clips).
		if slope < -1.4 || slope > -0.6 {
			t.Errorf("%dx%d seed %d: amplitude spectrum slope %.2f, want −1 ± 0.4", c.W, c.H, c.Seed, slope)
		}
	}
}

func TestNaturalOrientationsSpread(t *testing.T) {
	var frames [][]uint8
	var h, w int
	for _, c := range naturalClips(t) {
		if c.W != 64 {
			continue
		}
		frames = append(frames, sampleFrames(c)...)
		h, w = c.H, c.W
	}
	e := orientationEnergy(frames, h, w, 8, 2/float64(h), 0.25)
	for i, v := range e {
		// A uniform spread puts 1/8 in each 22.5° bin. Three 10 s clips hold about ten
		// scenes with independent random orientations, so a bin may deviate from 1/8 by about
		// ±40% (measured 0.64…1.5× on single clips); 0.5…1.6× still rules out a dominant
		// orientation (a grating puts > 90% in one bin).
		if v < 0.5/8 || v > 1.6/8 {
			t.Errorf("orientation bin %d (%.1f°–%.1f°) holds %.3f of the energy, want 0.0625…0.2: %.3f", i, 22.5*float64(i), 22.5*float64(i+1), v, e)
		}
	}
}

func TestNaturalLuminanceAndContrast(t *testing.T) {
	for _, c := range naturalClips(t) {
		var sat int
		var sumC float64
		for i := range c.T {
			f := c.Frame(i)
			m, sd := meanStd(f)
			// Scene means are drawn from 105–150 and drift by at most ±9% (three sinusoids of
			// amplitude ≤ 3%): 80–175 is the brief's band, with margin for objects' offsets.
			if m < 80 || m > 175 {
				t.Fatalf("%dx%d seed %d frame %d: mean luminance %.1f outside 80–175", c.W, c.H, c.Seed, i, m)
			}
			// Per-frame RMS contrast varies more than the clip average (few objects can fill
			// a small frame), so the frame band is wider than the target 0.2–0.32.
			if rc := sd / m; rc < 0.08 || rc > 0.5 {
				t.Fatalf("%dx%d seed %d frame %d: RMS contrast %.3f outside 0.08–0.5", c.W, c.H, c.Seed, i, rc)
			}
			sumC += sd / m
			for _, v := range f {
				if v == 0 || v == 255 {
					sat++
				}
			}
		}
		// Clip average: the scene targets are drawn from [0.2, 0.32]; ±0.05 allows for the
		// composite's std differing from the unit background's.
		if avg := sumC / float64(c.T); avg < 0.15 || avg > 0.37 {
			t.Errorf("%dx%d seed %d: mean RMS contrast %.3f outside 0.15–0.37", c.W, c.H, c.Seed, avg)
		}
		// A contrast of 0.32 puts 255 about 3 std above a mean of 128 (0.1% of a Gaussian);
		// 2% leaves room for bright objects (measured at most 0.15%).
		if frac := float64(sat) / float64(len(c.Frames)); frac > 0.02 {
			t.Errorf("%dx%d seed %d: %.2f%% of pixels saturated, want at most 2%%", c.W, c.H, c.Seed, 100*frac)
		}
	}
}

func TestNaturalMotionAndCuts(t *testing.T) {
	for _, c := range naturalClips(t) {
		if len(c.Segments) < 2 || len(c.Segments) > 5 {
			t.Errorf("%dx%d seed %d: %d scenes in 10 s, want 2–5 for 2–5 s scenes", c.W, c.H, c.Seed, len(c.Segments))
		}
		cut := make(map[int]bool)
		for _, sg := range c.Segments {
			if n := float64(sg.End-sg.Start) / c.RateHz; sg.End < c.T && (n < 2-1/c.RateHz || n > 5+1/c.RateHz) {
				t.Errorf("scene [%d, %d) lasts %.2f s, want 2–5 s", sg.Start, sg.End, n)
			}
			cut[sg.Start] = true
		}
		var within []float64
		for i := 1; i < c.T; i++ {
			if !cut[i] {
				within = append(within, meanAbsDiff(c.Frame(i-1), c.Frame(i)))
			}
		}
		slices.Sort(within)
		med := within[len(within)/2]
		// Camera pans and object motion move the image every frame; 0.5 grey levels is
		// well above the static case (0) and below what was measured (3–18).
		if med < 0.5 {
			t.Errorf("%dx%d seed %d: median frame-to-frame change %.2f grey levels, want motion", c.W, c.H, c.Seed, med)
		}
		for _, sg := range c.Segments[1:] {
			d := meanAbsDiff(c.Frame(sg.Start-1), c.Frame(sg.Start))
			// Two independent scenes with std ≈ 30 differ by ≈ 30 grey levels per pixel, a
			// few times the within-scene change.
			if d < 3*med {
				t.Errorf("%dx%d seed %d: cut at frame %d changes %.1f grey levels, want > 3× the median %.2f", c.W, c.H, c.Seed, sg.Start, d, med)
			}
		}
	}
}

func TestNaturalParams(t *testing.T) {
	s := DefaultSpec()
	c, err := Generate(KindNatural, s, 11)
	if err != nil {
		t.Fatal(err)
	}
	var lum float64
	for i, sg := range c.Segments {
		p := sg.Params
		if p[ParamScene] != float64(i) {
			t.Errorf("segment %d has scene index %g", i, p[ParamScene])
		}
		if p[ParamContrast] < s.Natural.ContrastMin || p[ParamContrast] > s.Natural.ContrastMax {
			t.Errorf("segment %d contrast %g outside the spec's range", i, p[ParamContrast])
		}
		if n := p[ParamObjects]; n < float64(s.Natural.MinObjects) || n > float64(s.Natural.MaxObjects) {
			t.Errorf("segment %d has %g objects", i, n)
		}
		lum += p[ParamLuminance]
	}
	if got, want := c.Params[ParamLuminance], lum/float64(len(c.Segments)); math.Abs(got-want) > 1e-9 {
		t.Errorf("clip luminance %g, want the scenes' mean %g", got, want)
	}
}
