package stimulus

import (
	"math"
	"math/rand/v2"
)

// Directional pink noise ("Monet"-like, MODEL.md 10.3). Each segment draws a periodic noise
// texture whose amplitude spectrum is
//
//	A(f, φ) = f^{−1} · f²/(f² + f0²) · e^{−f²/2fc²} · e^{κ (cos 2(φ − θ) − 1)}
//
// (f the spatial frequency, φ the wave vector's angle, f0 one cycle per short screen side,
// fc the cut-off, κ the orientation concentration), so its stripes run perpendicular to the direction θ, and translates it
// rigidly in direction θ at the configured speed: motion is perpendicular to the dominant
// orientation. Directions come from Directions equally spaced values in shuffled rounds.

// renderNoise fills c with directional noise segments.
func renderNoise(c *Clip, s Spec, rng *rand.Rand) {
	o := s.Noise
	w, h := c.W, c.H
	n := nextPow2(max(w, h))
	seg := s.frames(o.SegmentSeconds)
	speed := o.SpeedDeg / c.DegPerPixel // px/s
	fc := o.CutoffCpd * c.DegPerPixel   // cycles/px
	// Waves longer than the short side of the screen carry no visible motion, only a drifting
	// mean luminance; a first-order high-pass at one cycle per short side removes most of them.
	fLo := 1 / float64(min(w, h))
	buf := make([]float32, w*h)
	dirs := newDirectionCycle(rng, o.Directions)
	for start := 0; start < c.T; {
		dir := dirs.deal()
		theta := rad(dir)
		end := c.addSegment(start, start+seg, map[string]float64{
			ParamDirectionDeg:   dir,
			ParamOrientationDeg: math.Mod(dir+90, 180),
			ParamSpeedPxS:       speed,
			ParamSpeedDegS:      o.SpeedDeg,
			ParamContrast:       o.Contrast,
		})
		tex := newTexture(childRNG(rng), n, func(fx, fy float64) float64 {
			f := math.Hypot(fx, fy)
			if f == 0 {
				return 0
			}
			hp := f * f / (f*f + fLo*fLo)
			return hp * math.Exp(-f*f/(2*fc*fc)+o.OriConcentration*(math.Cos(2*(math.Atan2(fy, fx)-theta))-1)) / f
		})
		u0, v0 := float64(n)*rng.Float64(), float64(n)*rng.Float64()
		// Screen velocity (y down) of the pattern; a frame samples the texture at x − v·τ.
		vx, vy := speed*math.Cos(theta), -speed*math.Sin(theta)
		a := float32(Grey * o.Contrast)
		for t := start; t < end; t++ {
			tau := float64(t-start) / c.RateHz
			du, dv := u0-vx*tau, v0-vy*tau
			for y := range h {
				row := buf[y*w : (y+1)*w]
				for x := range row {
					row[x] = Grey + a*tex.sample(du+float64(x), dv+float64(y))
				}
			}
			quantize(c.Frame(t), buf)
		}
		start = end
	}
	c.Params[ParamContrast] = o.Contrast
	c.Params[ParamSpeedPxS] = speed
	c.Params[ParamSpeedDegS] = o.SpeedDeg
}
