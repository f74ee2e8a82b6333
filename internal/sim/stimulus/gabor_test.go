package stimulus

import (
	"math"
	"math/cmplx"
	"testing"
)

// gratingSpec is a square 128×128 screen at 1°/pixel (so cycles/degree equal cycles/pixel)
// showing full-field gratings in 16 directions, long enough for all 16 (0.7 s per segment).
func gratingSpec() Spec {
	s := DefaultSpec()
	s.Width, s.Height, s.FieldDeg, s.Seconds = 128, 128, 128, 12
	s.Gabor = GaborOptions{
		Directions: 16,
		SFCpd:      []float64{1.0 / 16, 1.0 / 10},
		TFHz:       []float64{2, 3},
		SigmaDeg:   []float64{0},
		Contrast:   0.8,
		OnSeconds:  0.5,
		OffSeconds: 0.2,
	}
	return s
}

func TestGaborGratings(t *testing.T) {
	c, err := Generate(KindGabor, gratingSpec(), 21)
	if err != nil {
		t.Fatal(err)
	}
	dirsSeen := make(map[float64]bool)
	for _, sg := range c.Segments {
		p := sg.Params
		if p[ParamBlank] == 1 {
			for t0 := sg.Start; t0 < sg.End; t0++ {
				if m, sd := meanStd(c.Frame(t0)); m != Grey || sd != 0 {
					t.Fatalf("blank frame %d is not uniform grey (mean %.1f, std %.1f)", t0, m, sd)
				}
			}
			continue
		}
		dir, f, tf := p[ParamDirectionDeg], p[ParamSFCpp], p[ParamTFHz]
		dirsSeen[dir] = true
		if p[ParamFullField] != 1 || p[ParamSFCpd]*c.DegPerPixel != f || p[ParamSpeedPxS] != tf/f ||
			p[ParamSpeedDegS] != tf/f*c.DegPerPixel || p[ParamOrientationDeg] != math.Mod(dir+90, 180) {
			t.Fatalf("segment [%d, %d): inconsistent parameters %v", sg.Start, sg.End, p)
		}

		// Orientation: the peak of the windowed spectrum lies in the DFT bin nearest the wave
		// vector, so its angle is off by at most the angle that half a bin diagonal subtends
		// at radius f·N.
		sp := spectrum2(c.Frame(sg.Start), c.H, c.W)
		best, bx, by := 0.0, 0, 0
		for y := range c.H {
			for x := range c.W {
				if a := cmplx.Abs(sp[y*c.W+x]); a > best {
					best, bx, by = a, x, y
				}
			}
		}
		waveDeg := math.Atan2(-freq(by, c.H), freq(bx, c.W)) * 180 / math.Pi
		tol := math.Atan(math.Sqrt2/2/(f*float64(c.W)))*180/math.Pi + 1e-9
		if d := angleDiff(waveDeg+90, p[ParamOrientationDeg], 180); d > tol {
			t.Errorf("segment at %d: bars at %.1f° in the spectrum, recorded orientation %.1f° (tolerance %.1f°)", sg.Start, waveDeg+90, p[ParamOrientationDeg], tol)
		}

		dx, dy := tf/f/c.RateHz*math.Cos(rad(dir)), -tf/f/c.RateHz*math.Sin(rad(dir))
		kx, ky := 2*math.Pi*f*math.Cos(rad(dir)), -2*math.Pi*f*math.Sin(rad(dir))
		for t0 := sg.Start; t0+1 < sg.End; t0++ {
			// Phase velocity: the carrier's phase, read by projecting the windowed frame on
			// e^{−i k·x}, advances by −2π tf / rate per frame. Tolerance 0.01 rad: the
			// negative-frequency leakage after a Hann window and 8-bit rounding are each
			// below 1e-3 rad at 128² pixels.
			dphi := cmplx.Phase(project(c.Frame(t0+1), c.H, c.W, kx, ky) / project(c.Frame(t0), c.H, c.W, kx, ky))
			want := -2 * math.Pi * tf / c.RateHz
			if e := math.Remainder(dphi-want, 2*math.Pi); math.Abs(e) > 0.01 {
				t.Fatalf("frames %d→%d: phase step %.4f rad, want %.4f (tf %g Hz)", t0, t0+1, dphi, want, tf)
			}
			// Drift direction: frame t+1 matches frame t moved along the recorded direction,
			// not against it.
			fwd := shiftCorr(c.Frame(t0), c.Frame(t0+1), c.H, c.W, dx, dy, false)
			back := shiftCorr(c.Frame(t0), c.Frame(t0+1), c.H, c.W, -dx, -dy, false)
			// 0.99: interpolation of a ≥ 10 px period and rounding cost less than 1%.
			if fwd < 0.99 || back >= fwd {
				t.Fatalf("frames %d→%d, direction %g°: correlation %.3f with the forward shift, %.3f backward", t0, t0+1, dir, fwd, back)
			}
		}
	}
	if len(dirsSeen) != 16 {
		t.Errorf("saw %d of 16 directions in %d segments; shuffled rounds should show all", len(dirsSeen), len(c.Segments))
	}
}

// project returns Σ (L − Grey) · hann · e^{−i (kx x + ky y)} over frame [H, W].
func project(frame []uint8, h, w int, kx, ky float64) complex128 {
	var z complex128
	for y := range h {
		for x := range w {
			v := (float64(frame[y*w+x]) - Grey) * hann(x, w) * hann(y, h)
			z += complex(v, 0) * cmplx.Exp(complex(0, -(kx*float64(x)+ky*float64(y))))
		}
	}
	return z
}

func TestGaborPatches(t *testing.T) {
	s := gratingSpec()
	s.Width, s.Height, s.FieldDeg = 96, 64, 96
	s.Seconds = 6
	s.Gabor.SigmaDeg = []float64{5, 8}
	s.Gabor.TFHz = []float64{2} // 0.5 s = one full cycle, so cos² averages to ½ everywhere
	c, err := Generate(KindGabor, s, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, sg := range c.Segments {
		p := sg.Params
		if p[ParamBlank] == 1 {
			continue
		}
		x0, y0, sigma := p[ParamXPx], p[ParamYPx], p[ParamSigmaPx]
		if p[ParamFullField] != 0 || sigma != p[ParamSigmaDeg]/c.DegPerPixel {
			t.Fatalf("patch parameters inconsistent: %v", p)
		}
		var sw, sx, sy float64
		for t0 := sg.Start; t0 < sg.End; t0++ {
			fr := c.Frame(t0)
			for y := range c.H {
				for x := range c.W {
					d := float64(fr[y*c.W+x]) - Grey
					r2 := (float64(x)-x0)*(float64(x)-x0) + (float64(y)-y0)*(float64(y)-y0)
					// Beyond 4σ the envelope is below e^{−8} · 127 < 0.05 grey levels.
					if r2 > 16*sigma*sigma && d != 0 {
						t.Fatalf("frame %d pixel (%d, %d) is %g grey levels off grey, %.1fσ from the patch", t0, x, y, d, math.Sqrt(r2)/sigma)
					}
					sw += d * d
					sx += d * d * float64(x)
					sy += d * d * float64(y)
				}
			}
		}
		// The contrast energy's centroid is the envelope centre. Its profile e^{−r²/σ²} has
		// spread σ/√2; patches sit in the central 60%, at least 12.6 px = 2.2 · 8/√2 px from
		// an edge, where cutting the Gaussian moves its centroid by about 0.2 px. 1 px
		// covers that and rounding.
		if cx, cy := sx/sw, sy/sw; math.Hypot(cx-x0, cy-y0) > 1 {
			t.Errorf("segment at %d: contrast centroid (%.2f, %.2f), recorded centre (%.2f, %.2f)", sg.Start, cx, cy, x0, y0)
		}
	}
}
