package stimulus

import (
	"math"
	"math/rand/v2"
)

// Drifting Gabor patches and full-field gratings, each segment followed by a grey pause.
//
// A segment with drift direction θ (0° right, 90° up), spatial frequency f (cycles/pixel),
// temporal frequency ω (Hz), envelope σ and phase φ shows, at time τ since its onset,
//
//	L(x, y, τ) = Grey + A · e^{−(dx²+dy²)/2σ²} · cos(2π f (dx cos θ − dy sin θ) − 2π ω τ + φ)
//
// with dx = x − x0, dy = y − y0 (y down, hence the minus sign) and A = contrast · 127. The
// phase decreases over time along the wave vector, so the bars move in direction θ at
// ω / f pixels per second.

// renderGabor fills c with Gabor segments and grey pauses.
func renderGabor(c *Clip, s Spec, rng *rand.Rand) {
	o := s.Gabor
	dirs := newDirectionCycle(rng, o.Directions)
	on, off := s.frames(o.OnSeconds), int(math.Round(o.OffSeconds*c.RateHz))
	w, h := c.W, c.H
	// Per-column carrier and envelope terms, per-row envelope: the carrier is separable,
	// cos(a(x) + b(y, τ)) = cos a · cos b − sin a · sin b, and so is the Gaussian.
	colCos, colSin := make([]float64, w), make([]float64, w)
	rowEnv := make([]float64, h)
	amp := o.Contrast * 127
	for start := 0; start < c.T; {
		dir := dirs.deal()
		sfCpd := o.SFCpd[rng.IntN(len(o.SFCpd))]
		tf := o.TFHz[rng.IntN(len(o.TFHz))]
		sigmaDeg := o.SigmaDeg[rng.IntN(len(o.SigmaDeg))]
		phase := 2 * math.Pi * rng.Float64()
		f := sfCpd * c.DegPerPixel
		sigma := sigmaDeg / c.DegPerPixel
		x0, y0 := float64(w-1)/2, float64(h-1)/2
		if sigma > 0 {
			// Patches stay in the central 60% of the screen so most of the envelope is visible.
			x0, y0 = float64(w-1)*uniform(rng, 0.2, 0.8), float64(h-1)*uniform(rng, 0.2, 0.8)
		}
		p := map[string]float64{
			ParamDirectionDeg:   dir,
			ParamOrientationDeg: math.Mod(dir+90, 180),
			ParamSFCpd:          sfCpd,
			ParamSFCpp:          f,
			ParamTFHz:           tf,
			ParamPhaseDeg:       phase * 180 / math.Pi,
			ParamSigmaPx:        sigma,
			ParamSigmaDeg:       sigmaDeg,
			ParamFullField:      0,
			ParamContrast:       o.Contrast,
			ParamXPx:            x0,
			ParamYPx:            y0,
			ParamSpeedPxS:       speedOf(tf, f),
			ParamSpeedDegS:      speedOf(tf, f) * c.DegPerPixel,
		}
		if sigma == 0 {
			p[ParamFullField] = 1
		}
		end := c.addSegment(start, start+on, p)

		kx, ky := 2*math.Pi*f*math.Cos(rad(dir)), -2*math.Pi*f*math.Sin(rad(dir))
		for x := range w {
			dx := float64(x) - x0
			env := gauss(dx, sigma)
			colCos[x], colSin[x] = env*math.Cos(kx*dx), env*math.Sin(kx*dx)
		}
		for y := range h {
			rowEnv[y] = amp * gauss(float64(y)-y0, sigma)
		}
		for t := start; t < end; t++ {
			tau := float64(t-start) / c.RateHz
			frame := c.Frame(t)
			for y := range h {
				b := ky*(float64(y)-y0) - 2*math.Pi*tf*tau + phase
				cb, sb := float32(rowEnv[y]*math.Cos(b)), float32(rowEnv[y]*math.Sin(b))
				row := frame[y*w : (y+1)*w]
				for x := range row {
					v := Grey + float32(colCos[x])*cb - float32(colSin[x])*sb
					row[x] = uint8(min(255, max(0, v+0.5)))
				}
			}
		}
		start = c.fillGrey(end, end+off)
	}
	c.Params[ParamContrast] = o.Contrast
}

// gauss returns e^{−d²/2σ²}, or 1 for σ = 0 (a full field).
func gauss(d, sigma float64) float64 {
	if sigma == 0 {
		return 1
	}
	return math.Exp(-d * d / (2 * sigma * sigma))
}

// speedOf returns the drift speed tf / sf of a grating, in pixels per second when sf is in
// cycles/pixel.
func speedOf(tf, sf float64) float64 { return tf / sf }
