package mouse

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Behavior is one trial's behaviour, one value per frame.
type Behavior struct {
	Pupil   []float32 // [T] pupil radius, mm
	Running []float32 // [T] treadmill speed, cm/s, ≥ 0
	// Eye is [T,2]: gaze azimuth (+ right) and elevation (+ up) in degrees from the
	// frame centre. A unit with RF centre r (pixels) samples the frame at
	// r + (azimuth, −elevation)/DegPerPixel: moving the gaze by d degrees has the same
	// effect as moving the image by −d.
	Eye []float32
}

// Frames returns T.
func (b Behavior) Frames() int { return len(b.Running) }

// check reports a length mismatch with T or a NaN, or nil.
func (b Behavior) check(T int) error {
	if len(b.Pupil) != T || len(b.Running) != T || len(b.Eye) != 2*T {
		return fmt.Errorf("behaviour has pupil %d, running %d, eye %d values, want T = %d, T, 2·T: %w",
			len(b.Pupil), len(b.Running), len(b.Eye), T, ErrInput)
	}
	for t := range T {
		if isNaN32(b.Pupil[t]) || isNaN32(b.Running[t]) || isNaN32(b.Eye[2*t]) || isNaN32(b.Eye[2*t+1]) {
			return fmt.Errorf("behaviour has NaN at frame %d: respond to the gap-free trace, not WithGaps': %w", t, ErrInput)
		}
	}
	return nil
}

// behaviorParams are a mouse's behavioural traits (drawn once per mouse).
type behaviorParams struct {
	runFrac   float64    // fraction of time in the running state
	boutSec   float64    // mean running-bout duration, s
	speed     float64    // median bout speed, cm/s
	pupilRest float64    // resting pupil radius at mid-grey, mm
	pupilRun  float64    // dilation at full running, mm
	pupilLum  float64    // dilation per unit decrease of mean luminance (0–1 scale), mm
	saccRest  float64    // saccade rate at rest, Hz
	saccRun   float64    // saccade rate when running, Hz
	saccSD    [2]float64 // SD of saccade landing points (azimuth, elevation), degrees
	fixSD     float64    // SD of fixational jitter, degrees
}

// Behaviour dynamics constants (modelling choices, per frame rate-independent).
const (
	speedTau     = 0.6  // s, smoothing of running onsets and offsets
	speedJitter  = 0.15 // SD of within-bout speed fluctuation, fraction of bout speed
	speedJitTau  = 1.0  // s, correlation time of that fluctuation
	runHalf      = 10.0 // cm/s, speed at which the running drive v/(v+runHalf) is 1/2
	pupilTau     = 1.5  // s, pupil dynamics
	pupilNoise   = 0.03 // mm, SD of slow pupil noise
	pupilNoiseT  = 2.0  // s, its correlation time
	pupilScale   = 0.2  // mm, pupil change that gives tanh(1) of the pupil gain
	pupilMin     = 0.05 // mm, floor of the pupil radius
	fixTau       = 0.5  // s, correlation time of fixational jitter
	saccadeFrame = 2    // frames a saccade takes
	saccPull     = 0.4  // saccades land at saccPull·current + noise (centring)
)

// drawBehavior draws a mouse's behavioural traits.
func drawBehavior(rng *rand.Rand) behaviorParams {
	return behaviorParams{
		runFrac:   0.2 + 0.3*rng.Float64(),
		boutSec:   4 + 6*rng.Float64(),
		speed:     10 + 15*rng.Float64(),
		pupilRest: 0.4 + 0.2*rng.Float64(),
		pupilRun:  0.15 + 0.15*rng.Float64(),
		pupilLum:  0.2 + 0.2*rng.Float64(),
		saccRest:  0.1 + 0.2*rng.Float64(),
		saccRun:   0.4 + 0.4*rng.Float64(),
		saccSD:    [2]float64{3 + 2*rng.Float64(), 1 + 1*rng.Float64()},
		fixSD:     0.15 + 0.15*rng.Float64(),
	}
}

// Behavior generates one trial of T frames: running in bouts (a two-state Markov process
// with smooth onsets), a pupil that dilates with running and with darker frames, and gaze
// that holds fixations with jitter, broken by saccades (more often when running).
// meanLum ([T], mean pixel value / 255 per frame, see MeanLuminance) drives the pupil;
// nil means mid-grey throughout. The result has no NaN.
func (m *Mouse) Behavior(T int, meanLum []float32, rng *rand.Rand) (Behavior, error) {
	if T <= 0 {
		return Behavior{}, fmt.Errorf("mouse %s behaviour: %d frames, want at least 1: %w", m.spec.ID, T, ErrInput)
	}
	if meanLum != nil && len(meanLum) != T {
		return Behavior{}, fmt.Errorf("mouse %s behaviour: %d luminance values for %d frames: %w", m.spec.ID, len(meanLum), T, ErrInput)
	}
	p := m.beh
	dt := 1 / m.bank.spec.RateHz
	out := Behavior{Pupil: make([]float32, T), Running: make([]float32, T), Eye: make([]float32, 2*T)}

	// Running: rest ⇄ run with exponential dwell times.
	restSec := p.boutSec * (1 - p.runFrac) / p.runFrac
	running := rng.Float64() < p.runFrac
	bout := p.speed * math.Exp(0.3*rng.NormFloat64())
	smooth := 0.0
	if running {
		smooth = bout
	}
	jit := 0.0
	// Pupil and eye state.
	lum := func(t int) float64 {
		if meanLum == nil {
			return 0.5
		}
		return float64(meanLum[t])
	}
	pupilTarget := func(v float64, t int) float64 {
		return p.pupilRest + p.pupilRun*v/(v+runHalf) + p.pupilLum*(0.5-lum(t))
	}
	pupil := pupilTarget(smooth, 0)
	pnoise := pupilNoise * rng.NormFloat64()
	fix := [2]float64{p.saccSD[0] * saccPull * rng.NormFloat64(), p.saccSD[1] * saccPull * rng.NormFloat64()}
	from, saccLeft := fix, 0
	jx, jy := p.fixSD*rng.NormFloat64(), p.fixSD*rng.NormFloat64()

	ou := func(x, tau, sd float64) float64 { // one Ornstein–Uhlenbeck step
		return x - x*dt/tau + sd*math.Sqrt(2*dt/tau)*rng.NormFloat64()
	}
	for t := range T {
		if running && rng.Float64() < dt/p.boutSec {
			running = false
		} else if !running && rng.Float64() < dt/restSec {
			running = true
			bout = p.speed * math.Exp(0.3*rng.NormFloat64())
		}
		target := 0.0
		if running {
			target = bout
		}
		smooth += (target - smooth) * (1 - math.Exp(-dt/speedTau))
		jit = ou(jit, speedJitTau, speedJitter)
		v := max(0, smooth*(1+jit))
		out.Running[t] = float32(v)

		pupil += (pupilTarget(v, t) - pupil) * (1 - math.Exp(-dt/pupilTau))
		pnoise = ou(pnoise, pupilNoiseT, pupilNoise)
		out.Pupil[t] = float32(max(pupilMin, pupil+pnoise))

		drive := v / (v + runHalf)
		if saccLeft == 0 && rng.Float64() < (p.saccRest+(p.saccRun-p.saccRest)*drive)*dt {
			from = fix
			for a := range 2 {
				fix[a] = saccPull*fix[a] + p.saccSD[a]*rng.NormFloat64()
			}
			saccLeft = saccadeFrame
		}
		gx, gy := fix[0], fix[1]
		if saccLeft > 0 { // move linearly from the old fixation to the new one
			f := float64(saccadeFrame-saccLeft+1) / saccadeFrame
			gx, gy = from[0]+f*(fix[0]-from[0]), from[1]+f*(fix[1]-from[1])
			saccLeft--
		}
		jx, jy = ou(jx, fixTau, p.fixSD), ou(jy, fixTau, p.fixSD)
		out.Eye[2*t], out.Eye[2*t+1] = float32(gx+jx), float32(gy+jy)
	}
	return out, nil
}

// RestBehavior returns T frames of a mouse sitting still: no running, the resting pupil
// and the gaze at the frame centre. Under it every behaviour gain is exactly 1, as in the
// in-silico protocol (MODEL.md 10.2).
func (m *Mouse) RestBehavior(T int) Behavior {
	b := Behavior{Pupil: make([]float32, T), Running: make([]float32, T), Eye: make([]float32, 2*T)}
	for t := range b.Pupil {
		b.Pupil[t] = float32(m.beh.pupilRest)
	}
	return b
}

// WithGaps returns a copy of beh in which about the spec's GapFraction of frames of each
// trace is NaN, in gaps of 3–15 frames: pupil and eye share their gaps (blinks), running
// has its own. It is meant for the recorded traces; Respond needs the gap-free ones.
func (m *Mouse) WithGaps(beh Behavior, rng *rand.Rand) Behavior {
	out := Behavior{
		Pupil:   append([]float32(nil), beh.Pupil...),
		Running: append([]float32(nil), beh.Running...),
		Eye:     append([]float32(nil), beh.Eye...),
	}
	T := len(out.Running)
	frac := m.spec.GapFraction
	if frac == 0 || T == 0 {
		return out
	}
	nan := float32(math.NaN())
	gaps := func(mark func(t int)) {
		want := int(math.Round(frac * float64(T)))
		seen := make([]bool, T)
		for n := 0; n < want; {
			start, length := rng.IntN(T), 3+rng.IntN(13)
			for t := start; t < min(T, start+length) && n < want; t++ {
				if !seen[t] {
					seen[t] = true
					mark(t)
					n++
				}
			}
		}
	}
	gaps(func(t int) { out.Pupil[t], out.Eye[2*t], out.Eye[2*t+1] = nan, nan, nan })
	gaps(func(t int) { out.Running[t] = nan })
	return out
}

// MeanLuminance returns the mean pixel value / 255 of each of T frames ([T, ...] uint8,
// equal-sized frames), the input Mouse.Behavior uses for the pupil.
func MeanLuminance(frames []uint8, T int) ([]float32, error) {
	if T <= 0 || len(frames)%T != 0 || len(frames) == 0 {
		return nil, fmt.Errorf("mean luminance: %d bytes do not split into %d frames: %w", len(frames), T, ErrInput)
	}
	n := len(frames) / T
	out := make([]float32, T)
	for t := range T {
		sum := 0
		for _, v := range frames[t*n : (t+1)*n] {
			sum += int(v)
		}
		out[t] = float32(float64(sum) / float64(n) / 255)
	}
	return out, nil
}

// isNaN32 reports whether v is NaN.
func isNaN32(v float32) bool { return v != v }
