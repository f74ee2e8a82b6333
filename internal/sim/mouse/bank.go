package mouse

import (
	"errors"
	"fmt"
	"math"
	"math/cmplx"
)

// ErrSpec is wrapped by every error about an invalid BankSpec or MouseSpec.
var ErrSpec = errors.New("invalid spec")

// ErrInput is wrapped by every error about frames, features or behaviour that do not fit
// the bank or the mouse they are handed to.
var ErrInput = errors.New("invalid input")

// Fixed design constants of the bank. Each is a modelling choice, not a measured value.
const (
	// sigmaPerPeriod is the Gabor envelope σ in units of the carrier period. 0.35 gives a
	// spatial-frequency bandwidth of about 1.8 octaves (half amplitude) and an orientation
	// half-width of about 30°, typical of mouse V1 (Niell & Stryker 2008).
	sigmaPerPeriod = 0.35
	// gridPerPeriod is the number of grid steps per carrier period on which the
	// demodulated maps are stored (the step is floored to whole pixels, at least 1).
	// The demodulated response is smooth on the scale of σ, so 4 steps per period keep
	// the bilinear interpolation error at a few per cent of the peak.
	gridPerPeriod = 4
	// tfStages is the number of cascaded complex one-pole filters of a temporal channel:
	// the impulse response is a discrete gamma envelope (order 3) times a complex carrier.
	tfStages = 3
	// tfQ sets a temporal channel's envelope: the total time constant of the cascade is
	// tfQ carrier periods. 0.7 gives a half-amplitude band of about ±50 % around the
	// centre frequency and a response to the opposite direction of 4–8 % of the peak.
	tfQ = 0.7
	// poolSigmaDeg is the σ of the Gaussian window over which the divisive-normalisation
	// pool measures local RMS contrast, in degrees of visual angle: wider than receptive
	// fields, as surround suppression in mouse V1 is. The variance of a grating in that
	// window is its full power a²/2 for SF above about 0.015 cycles/degree (1 − e^{−σ²k²}
	// ≥ 0.9), so the pool does not move any unit's preferred SF or orientation.
	poolSigmaDeg = 20.0
	// fieldOfViewDeg is the default horizontal extent of the frame: the reference's
	// monitor spans about 127° (MODEL.md 4.1), the simulator uses 120°.
	fieldOfViewDeg = 120.0
)

// BankSpec describes the shared feature bank: the frame geometry and the filter grid. Its
// zero value is not valid (Width and Height are needed); every other zero field takes the
// default named in its comment.
type BankSpec struct {
	Width, Height int     // frame size in pixels (W, H)
	DegPerPixel   float64 // visual angle of one pixel; 0 means 120°/Width
	RateHz        float64 // frame rate; 0 means 30 Hz
	Orientations  int     // number of filter orientations over 180°; 0 means 8
	// SF lists the filter spatial frequencies in cycles/degree, strictly increasing; nil
	// means {0.02, 0.04, 0.08} (mouse V1 prefers about 0.04, AL and RL lower).
	SF []float64
	// TF lists the temporal channels' centre frequencies in Hz, strictly increasing; nil
	// means {1.5, 3, 6} (V1 prefers about 1.5–2 Hz, AL and RL 4–6 Hz).
	TF []float64
}

// withDefaults returns s with every zero field replaced by its default.
func (s BankSpec) withDefaults() BankSpec {
	if s.DegPerPixel == 0 && s.Width > 0 {
		s.DegPerPixel = fieldOfViewDeg / float64(s.Width)
	}
	if s.RateHz == 0 {
		s.RateHz = 30
	}
	if s.Orientations == 0 {
		s.Orientations = 8
	}
	if s.SF == nil {
		s.SF = []float64{0.02, 0.04, 0.08}
	}
	if s.TF == nil {
		s.TF = []float64{1.5, 3, 6}
	}
	return s
}

// Validate reports the first problem of the spec after defaults are applied, or nil.
func (s BankSpec) Validate() error {
	s = s.withDefaults()
	bad := func(format string, a ...any) error {
		return fmt.Errorf("bank spec: "+format+": %w", append(a, ErrSpec)...)
	}
	switch {
	case s.Width < 8 || s.Height < 8:
		return bad("frame %d×%d pixels, want at least 8×8", s.Width, s.Height)
	case !(s.DegPerPixel > 0) || math.IsInf(s.DegPerPixel, 0):
		return bad("deg_per_pixel %g, want a positive number", s.DegPerPixel)
	case !(s.RateHz > 0) || math.IsInf(s.RateHz, 0):
		return bad("rate %g Hz, want a positive number", s.RateHz)
	case s.Orientations < 2 || s.Orientations > 64:
		return bad("%d orientations, want 2 to 64", s.Orientations)
	case len(s.SF) == 0:
		return bad("empty sf list")
	case len(s.TF) == 0:
		return bad("empty tf list")
	}
	for i, f := range s.SF {
		period := 1 / (f * s.DegPerPixel)
		switch {
		case !(f > 0) || math.IsInf(f, 0):
			return bad("sf[%d] = %g cycles/deg, want a positive number", i, f)
		case i > 0 && f <= s.SF[i-1]:
			return bad("sf list %v is not strictly increasing", s.SF)
		case period < 2.5:
			return bad("sf %g cycles/deg has a period of %.2f px at %.3f deg/pixel, below 2.5 px: lower it or raise the resolution", f, period, s.DegPerPixel)
		}
	}
	for i, f := range s.TF {
		switch {
		case !(f > 0) || math.IsInf(f, 0):
			return bad("tf[%d] = %g Hz, want a positive number", i, f)
		case i > 0 && f <= s.TF[i-1]:
			return bad("tf list %v is not strictly increasing", s.TF)
		case f > s.RateHz/4:
			return bad("tf %g Hz above a quarter of the %g Hz frame rate", f, s.RateHz)
		}
	}
	return nil
}

// Bank is the fixed bank of spatiotemporal filters shared by every unit of every mouse.
// It is read-only after NewBank and safe for concurrent use.
//
// The bank factors each filter into a spatial part, evaluated once per clip for all
// units by Features, and a temporal part, evaluated per unit by Mouse.Respond on the
// sampled spatial responses (sampling is linear, so the order does not change a unit's
// response at a fixed eye position; with eye movements it makes the temporal filter act
// in retinal coordinates, as it should).
type Bank struct {
	spec     BankSpec
	scales   []scale
	tfs      []temporal
	pool     grid      // the grid of the normalisation pool map, step σ_pool/2
	poolTaps []float32 // [2·R+1] Gaussian window of the pool, in pixels, summing to 1
	calib    *Features // features of the built-in calibration clip
	// normAlpha is the per-frame decay of the pool's low-pass, exp(−1/(normTau·rate)).
	normAlpha float64
}

// grid is a coarse sampling grid with nodes at pixel coordinates (j·step, i·step),
// j < nx, i < ny; it covers the frame [0, W−1] × [0, H−1].
type grid struct{ step, nx, ny int }

// newGrid returns the grid with the given step that covers a w×h frame.
func newGrid(step, w, h int) grid {
	return grid{step: step, nx: (w-1+step-1)/step + 1, ny: (h-1+step-1)/step + 1}
}

// size returns nx·ny.
func (g grid) size() int { return g.nx * g.ny }

// scale holds the separable complex Gabor filters of one spatial frequency.
type scale struct {
	sf       float64 // cycles/degree
	periodPx float64 // carrier period in pixels
	sigmaPx  float64 // envelope σ in pixels
	k        float64 // carrier wavenumber, rad/pixel
	g        grid
	radius   int       // taps run over −radius … radius
	yIdx     []int32   // [ny·(2R+1)] clamped pixel rows read for grid row i
	gauss    []float32 // [2R+1] envelope taps, summing to √2 (so the 2-D filter sums to 2)
	// Per orientation o (kxr and kxi for o ≤ O/2 only):
	kvec [][2]float64 // (k_x, k_y) in rad/pixel, image axes (y down)
	kxr  [][]float32  // [nx·(2R+1)] horizontal taps gauss·exp(i·k_x·x), real part
	kxi  [][]float32  // [nx·(2R+1)] and imaginary part
	ky   [][]float32  // [ny·(2R+1)·2] complex vertical taps gauss·exp(i·k_y·y), interleaved
	dc   []float64    // response of the modulated filter to a uniform image of 1, / 2
}

// temporal is one temporal channel: a cascade of tfStages complex one-pole filters with
// pole a·exp(iΩ), normalised to gain 1 at Ω. Its impulse response h(τ) is the analytic
// filter q = te + i·to of the motion-energy model.
type temporal struct {
	hz       float64    // centre frequency (the direction-selective TF), Hz
	a        float64    // per-stage decay per frame
	pole     complex128 // a·exp(iΩ), Ω = 2π·hz/rate
	teScale  float64    // 1/(2·max|TE|): scales (A+Ā) so the separable filter peaks at gain 1
	tePeakHz float64    // frequency where |TE|, the separable (non-directional) filter, peaks
}

// NewBank builds the filter bank for spec and computes the features of its built-in
// calibration clip (10 s, see calibrationClip), which NewMouse uses to scale each
// unit's gain and noise.
func NewBank(spec BankSpec) (*Bank, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	spec = spec.withDefaults()
	spec.SF = append([]float64(nil), spec.SF...)
	spec.TF = append([]float64(nil), spec.TF...)
	b := &Bank{spec: spec, normAlpha: math.Exp(-1 / (normTau * spec.RateHz))}
	for _, f := range spec.SF {
		b.scales = append(b.scales, b.newScale(f))
	}
	for _, f := range spec.TF {
		b.tfs = append(b.tfs, newTemporal(f, spec.RateHz))
	}
	poolPx := poolSigmaDeg / spec.DegPerPixel
	b.pool = newGrid(max(1, int(poolPx/2)), spec.Width, spec.Height)
	b.poolTaps = gaussTaps(poolPx, int(math.Ceil(3*poolPx)), 1)
	clip := calibrationClip(spec, calibFrames, calibSeed)
	calib, err := b.Features(clip, calibFrames, nil)
	if err != nil {
		return nil, fmt.Errorf("bank calibration: %w", err)
	}
	b.calib = calib
	return b, nil
}

// newScale builds the separable filters of spatial frequency sf (cycles/degree).
func (b *Bank) newScale(sf float64) scale {
	w, h, nOri := b.spec.Width, b.spec.Height, b.spec.Orientations
	period := 1 / (sf * b.spec.DegPerPixel)
	s := scale{sf: sf, periodPx: period, sigmaPx: sigmaPerPeriod * period, k: 2 * math.Pi / period}
	s.g = newGrid(max(1, int(period/gridPerPeriod)), w, h)
	s.radius = int(math.Ceil(3 * s.sigmaPx))
	n := 2*s.radius + 1
	s.gauss = gaussTaps(s.sigmaPx, s.radius, math.Sqrt2)
	s.yIdx = make([]int32, s.g.ny*n)
	for i := range s.g.ny {
		for d := -s.radius; d <= s.radius; d++ {
			s.yIdx[i*n+d+s.radius] = int32(clamp(i*s.g.step+d, 0, h-1))
		}
	}
	for o := range nOri {
		th := OrientationDeg(o, nOri) * math.Pi / 180
		// Image y points down, so a wave vector at angle θ (counter-clockwise from
		// rightward, as seen on the screen) has image components (cos θ, −sin θ).
		kv := [2]float64{s.k * math.Cos(th), -s.k * math.Sin(th)}
		s.kvec = append(s.kvec, kv)
		if o <= nOri/2 { // the others' horizontal passes are conjugates (see frame)
			re, im := modulatedTaps(s.gauss, s.g.nx, s.g.step, kv[0])
			s.kxr, s.kxi = append(s.kxr, re), append(s.kxi, im)
		}
		re, im := modulatedTaps(s.gauss, s.g.ny, s.g.step, kv[1])
		ky := make([]float32, 2*len(re))
		for i := range re {
			ky[2*i], ky[2*i+1] = re[i], im[i]
		}
		s.ky = append(s.ky, ky)
		var cx, cy complex128
		for d := -s.radius; d <= s.radius; d++ {
			gd := float64(s.gauss[d+s.radius])
			cx += complex(gd, 0) * cmplx.Exp(complex(0, kv[0]*float64(d)))
			cy += complex(gd, 0) * cmplx.Exp(complex(0, kv[1]*float64(d)))
		}
		// The taps are symmetric, so the product is real to rounding.
		s.dc = append(s.dc, real(cx*cy)/2)
	}
	return s
}

// modulatedTaps returns, for each of n grid nodes at spacing step, the real and
// imaginary parts of the complex taps gauss[d]·exp(i·k·(node+d)): the carrier uses the
// true (unclamped) coordinate, so the demodulated map is smooth.
func modulatedTaps(gauss []float32, n, step int, k float64) (re, im []float32) {
	r := len(gauss) / 2
	re = make([]float32, 0, n*len(gauss))
	im = make([]float32, 0, n*len(gauss))
	for j := range n {
		for d := -r; d <= r; d++ {
			s, c := math.Sincos(k * float64(j*step+d))
			g := float64(gauss[d+r])
			re, im = append(re, float32(g*c)), append(im, float32(g*s))
		}
	}
	return re, im
}

// newTemporal builds the temporal channel centred on hz at the given frame rate.
func newTemporal(hz, rate float64) temporal {
	om := 2 * math.Pi * hz / rate
	tau := tfQ * rate / hz / tfStages // per-stage time constant, frames
	a := math.Exp(-1 / tau)
	tc := temporal{hz: hz, a: a, pole: complex(a, 0) * cmplx.Exp(complex(0, om))}
	// TE(ω) = (H(ω) + conj H(−ω))/2 is the real part of h, the separable filter. Find its
	// peak on a 0.01 Hz grid up to the Nyquist frequency.
	best, bestHz := 0.0, 0.0
	for i := 0; float64(i)*0.01 <= rate/2; i++ {
		f := float64(i) * 0.01
		te := cmplx.Abs((tc.response(f, rate) + cmplx.Conj(tc.response(-f, rate))) / 2)
		if te > best {
			best, bestHz = te, f
		}
	}
	tc.teScale = 1 / (2 * best)
	tc.tePeakHz = bestHz
	return tc
}

// response returns H at frequency f (Hz; negative for the opposite direction): the
// frequency response of the normalised cascade, 1 at f = hz.
func (tc temporal) response(f, rate float64) complex128 {
	w := 2 * math.Pi * f / rate
	one := complex(1-tc.a, 0) / (1 - tc.pole*cmplx.Exp(complex(0, -w)))
	h := complex(1, 0)
	for range tfStages {
		h *= one
	}
	return h
}

// gaussTaps returns 2r+1 samples of a Gaussian of std sigma (in taps), scaled to sum to total.
func gaussTaps(sigma float64, r int, total float64) []float32 {
	g := make([]float64, 2*r+1)
	sum := 0.0
	for d := -r; d <= r; d++ {
		v := math.Exp(-float64(d*d) / (2 * sigma * sigma))
		g[d+r] = v
		sum += v
	}
	out := make([]float32, len(g))
	for i, v := range g {
		out[i] = float32(v * total / sum)
	}
	return out
}

// clamp limits v to [lo, hi].
func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// Spec returns the bank's spec with defaults applied.
func (b *Bank) Spec() BankSpec {
	s := b.spec
	s.SF = append([]float64(nil), s.SF...)
	s.TF = append([]float64(nil), s.TF...)
	return s
}

// OrientationDeg returns the orientation of filter index o of n, in degrees: o·180/n.
// An orientation is the axis of the grating's wave vector (the drift axis), so a grating
// drifting at direction θ (0° rightward, 90° up) has orientation θ mod 180; its bars lie
// perpendicular to it.
func OrientationDeg(o, n int) float64 { return float64(o) * 180 / float64(n) }
