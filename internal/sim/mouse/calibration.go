package mouse

import (
	"math"
	"math/rand/v2"
)

// Calibration clip: NewMouse scales every unit so that its mean rate and its noise match
// their targets on this clip. Its first half imitates the training domain (natural-like
// movies): three transparent layers of 1/f texture (random gratings with equal amplitude
// per octave, as natural scenes have), each translated by its own camera-like motion (a
// constant drift plus a slow wobble). Its second half is broadband: 1/f gratings drifting
// in random directions at temporal frequencies spread evenly over octaves, so that every
// unit, whatever its channel, is driven, and no unit's gain is set by a stimulus that
// hardly reaches it. The cut between the halves adds the transient of a new scene.
const (
	calibFrames   = 300            // 10 s at 30 Hz, the length of a trial
	calibBurnIn   = 15             // frames dropped from calibration statistics
	calibSeed     = 0x6361_6c69_62 // "calib"
	calibLayers   = 3              // moving layers of the natural-like half
	calibGratings = 16             // gratings per layer, and per third of the broadband half
	calibMinTF    = 0.5            // broadband half: TF ~ log-uniform, Hz
	calibMaxTF    = 10.0           // (capped at a third of the rate)
	calibRMS      = 0.25           // RMS contrast (the natural generator: 0.2–0.32)
	calibMinSF    = 0.01           // lowest grating SF, cycles/degree
	calibMaxSF    = 0.3            // highest grating SF, cycles/degree (capped at 2.5 px)
	calibMaxSpeed = 20.0           // layer drift speed ~ U(0, calibMaxSpeed) degrees/second
	calibWobble   = 3.0            // layer wobble amplitude, degrees
)

// calibGrating is one texture component: exp(i·k_x·x) and exp(i·k_y·y) tabulated over
// the frame, its wave vector (rad/pixel) and phase.
type calibGrating struct {
	ex, ey []complex64
	k      [2]float64
	phase  float64
	omega  float64 // own drift, rad/frame (broadband half)
}

// calibLayer is a texture translated by drift·t + wobble(t), in pixels.
type calibLayer struct {
	gs          []calibGrating
	drift       [2]float64 // pixels/frame
	wobAmp      float64    // pixels
	wobW, wobPh [2]float64 // rad/frame, rad
}

// calibrationClip renders T frames ([T, H, W] uint8) of the calibration stimulus for the
// bank geometry of spec, deterministically from seed.
func calibrationClip(spec BankSpec, T int, seed uint64) []uint8 {
	w, h := spec.Width, spec.Height
	rng := rand.New(rand.NewPCG(seed, 1))
	maxSF := min(calibMaxSF, 1/(2.5*spec.DegPerPixel))
	pxPerDeg := 1 / spec.DegPerPixel
	maxTF := min(calibMaxTF, spec.RateHz/3)
	scenes := make([][]calibLayer, 2)
	for s := range scenes {
		for range calibLayers {
			speed := calibMaxSpeed * rng.Float64() * pxPerDeg / spec.RateHz
			if s == 1 {
				speed = 0
			}
			dir := 2 * math.Pi * rng.Float64()
			l := calibLayer{
				drift:  [2]float64{speed * math.Cos(dir), -speed * math.Sin(dir)},
				wobAmp: calibWobble * pxPerDeg,
			}
			if s == 1 {
				l.wobAmp = 0
			}
			for a := range 2 {
				l.wobW[a] = 2 * math.Pi * (0.2 + 0.4*rng.Float64()) / spec.RateHz
				l.wobPh[a] = 2 * math.Pi * rng.Float64()
			}
			for range calibGratings {
				sf := calibMinSF * math.Pow(maxSF/calibMinSF, rng.Float64()) // log-uniform
				th := 2 * math.Pi * rng.Float64()
				k := 2 * math.Pi * sf * spec.DegPerPixel
				g := calibGrating{
					ex:    make([]complex64, w),
					ey:    make([]complex64, h),
					k:     [2]float64{k * math.Cos(th), -k * math.Sin(th)},
					phase: 2 * math.Pi * rng.Float64(),
				}
				if s == 1 {
					g.omega = 2 * math.Pi * calibMinTF * math.Pow(maxTF/calibMinTF, rng.Float64()) / spec.RateHz
				}
				for x := range w {
					s, c := math.Sincos(g.k[0] * float64(x))
					g.ex[x] = complex(float32(c), float32(s))
				}
				for y := range h {
					s, c := math.Sincos(g.k[1] * float64(y))
					g.ey[y] = complex(float32(c), float32(s))
				}
				l.gs = append(l.gs, g)
			}
			scenes[s] = append(scenes[s], l)
		}
	}
	// A sum of n unit-amplitude cosines with random phases has RMS sqrt(n/2).
	amp := float32(calibRMS / math.Sqrt(float64(calibLayers*calibGratings)/2))
	out := make([]uint8, T*h*w)
	acc := make([]float32, h*w)
	for t := range T {
		clear(acc)
		for _, l := range scenes[min(2*t/T, 1)] {
			ft := float64(t)
			dx := l.drift[0]*ft + l.wobAmp*math.Sin(l.wobW[0]*ft+l.wobPh[0])
			dy := l.drift[1]*ft + l.wobAmp*math.Sin(l.wobW[1]*ft+l.wobPh[1])
			for _, g := range l.gs {
				// The texture moved by (dx, dy): I(x − d) = Σ cos(k·x − k·d + φ).
				s, c := math.Sincos(g.phase - g.k[0]*dx - g.k[1]*dy - g.omega*ft)
				ph := complex(float32(c), float32(s))
				for y := range h {
					row := acc[y*w : (y+1)*w]
					ry := g.ey[y] * ph
					for x, ex := range g.ex {
						row[x] += real(ex * ry)
					}
				}
			}
		}
		for i, v := range acc {
			out[t*h*w+i] = toPixel(0.5 + amp*v)
		}
	}
	return out
}

// toPixel maps a luminance in [0, 1] to the nearest uint8 value, clipping.
func toPixel(v float32) uint8 {
	return uint8(max(0, min(255, math.Round(float64(v)*255))))
}
