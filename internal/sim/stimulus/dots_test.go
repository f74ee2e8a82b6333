package stimulus

import (
	"math"
	"testing"
)

func TestDotsPositionsAndBackground(t *testing.T) {
	for _, gap := range []float64{0, 0.1} {
		s := DefaultSpec()
		s.Dots.GapSeconds = gap
		c, err := Generate(KindDots, s, 13)
		if err != nil {
			t.Fatal(err)
		}
		polarities := make(map[float64]int)
		var flashes, blanks int
		for _, sg := range c.Segments {
			p := sg.Params
			if p[ParamBlank] == 1 {
				blanks++
				for t0 := sg.Start; t0 < sg.End; t0++ {
					if m, sd := meanStd(c.Frame(t0)); m != Grey || sd != 0 {
						t.Fatalf("gap frame %d is not uniform grey", t0)
					}
				}
				continue
			}
			flashes++
			x0, y0, r, pol := p[ParamXPx], p[ParamYPx], p[ParamRadiusPx], p[ParamPolarity]
			polarities[pol]++
			if r != p[ParamRadiusDeg]/c.DegPerPixel {
				t.Fatalf("radius %g px does not match %g deg", r, p[ParamRadiusDeg])
			}
			for t0 := sg.Start; t0 < sg.End; t0++ {
				fr := c.Frame(t0)
				// The extreme pixel (brightest for on, darkest for off dots) is the dot's
				// centre, within 1 px.
				ext, ex, ey := -1.0, 0, 0
				for y := range c.H {
					for x := range c.W {
						d := pol * (float64(fr[y*c.W+x]) - Grey)
						if d > ext {
							ext, ex, ey = d, x, y
						}
						// Beyond 3.5 r the profile is below e^{−6.1} · 127 < 0.3 grey levels,
						// which rounds to grey: the background is exactly grey.
						if math.Hypot(float64(x)-x0, float64(y)-y0) > 3.5*r && fr[y*c.W+x] != Grey {
							t.Fatalf("frame %d pixel (%d, %d) = %d, want grey %d far from the dot", t0, x, y, fr[y*c.W+x], Grey)
						}
					}
				}
				if math.Abs(float64(ex)-x0) > 1 || math.Abs(float64(ey)-y0) > 1 {
					t.Fatalf("frame %d: extreme pixel at (%d, %d), dot recorded at (%g, %g)", t0, ex, ey, x0, y0)
				}
				// Full contrast drives the centre to the end of the range (1 or 255).
				if ext < 126 {
					t.Fatalf("frame %d: dot peak %g grey levels from grey, want 127 at contrast 1", t0, ext)
				}
			}
			if n := sg.End - sg.Start; n != s.frames(s.Dots.DotSeconds) && sg.End != c.T {
				t.Fatalf("flash lasts %d frames, want %d", n, s.frames(s.Dots.DotSeconds))
			}
		}
		if gap > 0 && blanks < flashes-1 {
			t.Errorf("gap %g s: %d blanks for %d flashes", gap, blanks, flashes)
		}
		if gap == 0 && blanks != 0 {
			t.Errorf("no gap configured, got %d blanks", blanks)
		}
		// 50 flashes with fair polarity coins: both kinds appear (failure chance 2^-49).
		if polarities[1] == 0 || polarities[-1] == 0 {
			t.Errorf("polarities %v, want both on and off dots", polarities)
		}
	}
}

func TestDotsSimultaneous(t *testing.T) {
	s := DefaultSpec()
	s.Dots.Simultaneous = 3
	c, err := Generate(KindDots, s, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkSegments(t, c)
	if len(c.Segments)%3 != 0 {
		t.Fatalf("%d segments, want three per flash", len(c.Segments))
	}
	for i := 0; i < len(c.Segments); i += 3 {
		a, b := c.Segments[i], c.Segments[i+2]
		if a.Start != b.Start || a.End != b.End {
			t.Fatalf("flash %d: simultaneous dots have ranges [%d,%d) and [%d,%d)", i/3, a.Start, a.End, b.Start, b.End)
		}
	}
}
