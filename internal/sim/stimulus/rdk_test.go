package stimulus

import (
	"fmt"
	"math"
	"testing"
)

// rdkSpec is a 64×64 screen at 1°/pixel with dots moving 2 px per frame (60°/s at 30 Hz).
func rdkSpec(coherence float64) Spec {
	s := DefaultSpec()
	s.Width, s.Height, s.FieldDeg, s.Seconds = 64, 64, 64, 5
	s.RDK.Coherence = coherence
	s.RDK.SpeedDeg = 60
	s.RDK.Density = 0.02 // 82 dots
	s.RDK.DotRadiusDeg = 1.5
	return s
}

// peakShift returns the displacement (dx, dy) in pixels (x right, y down) that maximises the
// circular correlation of next with prev shifted, searched over whole pixels within ±max and
// refined by a parabola through the peak and its neighbours on each axis.
func peakShift(prev, next []uint8, h, w, maxShift int) (float64, float64) {
	corr := func(dx, dy int) float64 { return shiftCorr(prev, next, h, w, float64(dx), float64(dy), true) }
	best, bx, by := math.Inf(-1), 0, 0
	for dy := -maxShift; dy <= maxShift; dy++ {
		for dx := -maxShift; dx <= maxShift; dx++ {
			if c := corr(dx, dy); c > best {
				best, bx, by = c, dx, dy
			}
		}
	}
	vertex := func(m, z, p float64) float64 {
		den := m - 2*z + p
		if den >= 0 {
			return 0
		}
		return 0.5 * (m - p) / den
	}
	return float64(bx) + vertex(corr(bx-1, by), best, corr(bx+1, by)),
		float64(by) + vertex(corr(bx, by-1), best, corr(bx, by+1))
}

func TestRDKCoherentMotion(t *testing.T) {
	s := rdkSpec(1)
	c, err := Generate(KindRDK, s, 17)
	if err != nil {
		t.Fatal(err)
	}
	step := s.RDK.SpeedDeg / s.DegPerPixel() / s.RateHz
	if c.Params[ParamSpeedPxS] != step*s.RateHz || c.Params[ParamCoherence] != 1 {
		t.Fatalf("clip params %v", c.Params)
	}
	for _, sg := range c.Segments {
		if n := float64(sg.End-sg.Start) / c.RateHz; sg.End < c.T && (n < s.RDK.SegmentMinSeconds-0.5/c.RateHz || n > s.RDK.SegmentMaxSeconds+0.5/c.RateHz) {
			t.Errorf("segment lasts %.3f s, want %g–%g s", n, s.RDK.SegmentMinSeconds, s.RDK.SegmentMaxSeconds)
		}
		dir := sg.Params[ParamDirectionDeg]
		wantX, wantY := step*math.Cos(rad(dir)), -step*math.Sin(rad(dir))
		for t0 := sg.Start; t0+1 < sg.End; t0++ {
			dx, dy := peakShift(c.Frame(t0), c.Frame(t0+1), c.H, c.W, 3)
			// 0.15 px: the parabola fitted to the correlation peak of anti-aliased discs
			// is biased at sub-pixel offsets (measured at most 0.065 px over three seeds).
			if math.Hypot(dx-wantX, dy-wantY) > 0.15 {
				t.Fatalf("frames %d→%d: displacement (%.2f, %.2f) px, want (%.2f, %.2f) for %g° at %.2f px/frame", t0, t0+1, dx, dy, wantX, wantY, dir, step)
			}
		}
	}
}

// ringCorr returns, for each of n directions, the mean over the segment's frame pairs of the
// correlation of frame t+1 with frame t displaced by step pixels in that direction.
func ringCorr(c *Clip, sg Segment, step float64, n int) []float64 {
	r := make([]float64, n)
	for i := range n {
		a := 2 * math.Pi * float64(i) / float64(n)
		for t0 := sg.Start; t0+1 < sg.End; t0++ {
			r[i] += shiftCorr(c.Frame(t0), c.Frame(t0+1), c.H, c.W, step*math.Cos(a), -step*math.Sin(a), true)
		}
		r[i] /= float64(sg.End - sg.Start - 1)
	}
	return r
}

func TestRDKCoherence(t *testing.T) {
	// Coherent dots concentrate the frame-to-frame correlation at the segment's direction on the
	// ring of radius speed/rate; incoherent dots spread it around the ring.
	for _, coh := range []float64{1, 0.5, 0} {
		t.Run(fmt.Sprint("coherence ", coh), func(t *testing.T) {
			s := rdkSpec(coh)
			c, err := Generate(KindRDK, s, 23)
			if err != nil {
				t.Fatal(err)
			}
			step := s.RDK.SpeedDeg / s.DegPerPixel() / s.RateHz
			const n = 16
			for _, sg := range c.Segments[:4] {
				r := ringCorr(c, sg, step, n)
				at := r[int(math.Round(sg.Params[ParamDirectionDeg]/360*n))%n]
				best := at
				for _, v := range r {
					best = math.Max(best, v)
				}
				switch coh {
				case 1:
					// Every dot moves rigidly: only overlaps and anti-aliasing decorrelate
					// (measured 0.97–1.00).
					if at < 0.9 || at < best {
						t.Errorf("segment at %d: correlation %.2f at the recorded direction, max %.2f: %.2f", sg.Start, at, best, r)
					}
				case 0.5:
					// Half the dots carry the signal; the rest add uncorrelated dots
					// (measured 0.58–0.65).
					if at < 0.45 || at < best {
						t.Errorf("segment at %d: correlation %.2f at the recorded direction, max %.2f", sg.Start, at, best)
					}
				case 0:
					// Random directions: each ring point collects only the dots moving near
					// it (a 1.5 px dot at 2 px steps is caught within about ±45°), so no
					// direction stands out (measured at most 0.34, against ≥ 0.97 above).
					if best > 0.45 {
						t.Errorf("segment at %d: coherence 0 still gives a ring correlation %.2f: %.2f", sg.Start, best, r)
					}
				}
			}
		})
	}
}
