package stimulus

import (
	"math"
	"math/rand/v2"
)

// Random-dot kinematograms. Dots live on the torus [0, W) × [0, H) (leaving one edge, they
// re-enter at the other), half bright and half dark on grey. In each segment a random subset of
// round(coherence · n) dots moves in the segment's direction; every other dot moves at the same
// speed in its own random direction. Frame t shows the dots where they are after t steps, so
// with coherence 1 frame t+1 is frame t shifted by the segment's velocity / rate.

// renderRDK fills c with random-dot kinematogram segments.
func renderRDK(c *Clip, s Spec, rng *rand.Rand) {
	o := s.RDK
	w, h := c.W, c.H
	areaDeg2 := float64(w*h) * c.DegPerPixel * c.DegPerPixel
	n := max(1, int(math.Round(o.Density*areaDeg2)))
	nCoh := int(math.Round(o.Coherence * float64(n)))
	speed := o.SpeedDeg / c.DegPerPixel // px/s
	step := speed / c.RateHz            // px/frame
	radius := o.DotRadiusDeg / c.DegPerPixel
	amp := float32(o.Contrast * 127)

	px, py := make([]float64, n), make([]float64, n)
	vx, vy := make([]float64, n), make([]float64, n)
	for i := range n {
		px[i], py[i] = float64(w)*rng.Float64(), float64(h)*rng.Float64()
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	buf := make([]float32, w*h)
	dirs := newDirectionCycle(rng, o.Directions)
	for start := 0; start < c.T; {
		dir := dirs.deal()
		end := c.addSegment(start, start+s.frames(uniform(rng, o.SegmentMinSeconds, o.SegmentMaxSeconds)),
			map[string]float64{
				ParamDirectionDeg: dir,
				ParamCoherence:    o.Coherence,
				ParamSpeedPxS:     speed,
				ParamSpeedDegS:    o.SpeedDeg,
			})
		rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		for k, i := range order {
			a := rad(dir)
			if k >= nCoh {
				a = 2 * math.Pi * rng.Float64()
			}
			// Screen y points down, so upward motion decreases y.
			vx[i], vy[i] = step*math.Cos(a), -step*math.Sin(a)
		}
		for t := start; t < end; t++ {
			for i := range buf {
				buf[i] = Grey
			}
			for i := range n {
				val := Grey + amp
				if i%2 == 1 {
					val = Grey - amp
				}
				drawDisc(buf, w, h, px[i], py[i], radius, val)
				px[i] = wrap(px[i]+vx[i], float64(w))
				py[i] = wrap(py[i]+vy[i], float64(h))
			}
			quantize(c.Frame(t), buf)
		}
		start = end
	}
	c.Params[ParamCoherence] = o.Coherence
	c.Params[ParamSpeedPxS] = speed
	c.Params[ParamSpeedDegS] = o.SpeedDeg
	c.Params[ParamDensity] = o.Density
	c.Params[ParamDots] = float64(n)
	c.Params[ParamRadiusPx] = radius
	c.Params[ParamRadiusDeg] = o.DotRadiusDeg
	c.Params[ParamContrast] = o.Contrast
}

// drawDisc paints a disc of radius r centred at (cx, cy) on the torus buf [H, W] with value val,
// blending by the pixel's approximate coverage clamp(r + ½ − d, 0, 1).
func drawDisc(buf []float32, w, h int, cx, cy, r float64, val float32) {
	x0, x1 := int(math.Floor(cx-r-1)), int(math.Ceil(cx+r+1))
	y0, y1 := int(math.Floor(cy-r-1)), int(math.Ceil(cy+r+1))
	for y := y0; y <= y1; y++ {
		dy := float64(y) - cy
		row := ((y % h) + h) % h
		for x := x0; x <= x1; x++ {
			dx := float64(x) - cx
			cov := float32(r + 0.5 - math.Sqrt(dx*dx+dy*dy))
			if cov <= 0 {
				continue
			}
			cov = min(cov, 1)
			i := row*w + ((x%w)+w)%w
			buf[i] += cov * (val - buf[i])
		}
	}
}

// wrap returns v modulo period, in [0, period).
func wrap(v, period float64) float64 {
	v = math.Mod(v, period)
	if v < 0 {
		v += period
	}
	return v
}
