package stimulus

import (
	"math"
	"math/rand/v2"
)

// Flashing Gaussian dots on grey, for receptive-field mapping (MODEL.md 10.4). Each flash shows
// Spec.Dots.Simultaneous dots, each at a whole-pixel position with profile
//
//	L(x, y) = Grey + polarity · A · e^{−((x−x0)²+(y−y0)²)/2r²},  A = contrast · 127,
//
// summed over the flash's dots and clamped, then an optional grey gap. Whole-pixel centres make
// the dot's extreme pixel its recorded position.

// renderDots fills c with dot flashes.
func renderDots(c *Clip, s Spec, rng *rand.Rand) {
	o := s.Dots
	on, gap := s.frames(o.DotSeconds), int(math.Round(o.GapSeconds*c.RateHz))
	w, h := c.W, c.H
	buf := make([]float32, w*h)
	amp := o.Contrast * 127
	for start := 0; start < c.T; {
		clear(buf)
		var end int
		for range o.Simultaneous {
			x0, y0 := rng.IntN(w), rng.IntN(h)
			rDeg := o.RadiusDeg[rng.IntN(len(o.RadiusDeg))]
			r := rDeg / c.DegPerPixel
			pol := 1.0
			if rng.IntN(2) == 0 {
				pol = -1
			}
			end = c.addSegment(start, start+on, map[string]float64{
				ParamXPx:       float64(x0),
				ParamYPx:       float64(y0),
				ParamRadiusPx:  r,
				ParamRadiusDeg: rDeg,
				ParamPolarity:  pol,
				ParamContrast:  o.Contrast,
			})
			addGaussianDot(buf, w, h, x0, y0, r, pol*amp)
		}
		for i, v := range buf {
			buf[i] = Grey + v
		}
		quantize(c.Frame(start), buf)
		for t := start + 1; t < end; t++ {
			copy(c.Frame(t), c.Frame(start))
		}
		start = c.fillGrey(end, end+gap)
	}
	c.Params[ParamContrast] = o.Contrast
	c.Params[ParamDots] = float64(o.Simultaneous)
}

// addGaussianDot adds peak · e^{−d²/2r²} to buf [H, W] around (x0, y0), out to 4r where the
// profile has fallen below 0.04% of its peak (under a grey level at full contrast).
func addGaussianDot(buf []float32, w, h, x0, y0 int, r, peak float64) {
	reach := int(math.Ceil(4 * r))
	inv := -1 / (2 * r * r)
	for y := max(0, y0-reach); y <= min(h-1, y0+reach); y++ {
		dy := float64(y - y0)
		for x := max(0, x0-reach); x <= min(w-1, x0+reach); x++ {
			dx := float64(x - x0)
			buf[y*w+x] += float32(peak * math.Exp((dx*dx+dy*dy)*inv))
		}
	}
}
