package mouse

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/fmcore/fmcore/data"
)

// Area is a visual cortical area.
type Area string

// The simulated areas.
const (
	AreaV1 Area = "V1"
	AreaLM Area = "LM"
	AreaAL Area = "AL"
	AreaRL Area = "RL"
)

// Class is a unit's response class.
type Class string

// The response classes.
const (
	// ClassSimple units rectify a linear spatiotemporal Gabor filter and raise it to a power.
	ClassSimple Class = "simple"
	// ClassComplex units take the energy of a quadrature pair (phase invariant).
	ClassComplex Class = "complex"
	// ClassDS units take the energy of a spatiotemporally oriented (drifting) quadrature
	// pair: direction selective (Adelson & Bergen 1985).
	ClassDS Class = "ds"
)

// ReliabilityRepeats is the number of repeats at which MouseSpec.Reliability is defined:
// a unit with reliability ρ has an expected CC_max (MODEL.md 9.3) of ρ when a clip is
// shown this many times, as in the reference's test protocol (MODEL.md 9.1). With R
// repeats instead, CC_max = sqrt(1 / (1 + (1/ρ² − 1)·ReliabilityRepeats/R)).
const ReliabilityRepeats = 10

// MouseSpec describes one digital mouse. Zero fields take the default named in their
// comment; ID, Units and Seed have none.
type MouseSpec struct {
	ID    string // mouse name, used in errors
	Units int    // U, number of units
	Seed  uint64 // seed of everything the mouse draws at construction
	// Reliability is the target median over units of CC_max at ReliabilityRepeats
	// repeats, in (0, 1); 0 means 0.7 (MICrONS units: median CC_max about 0.7).
	Reliability float64
	// ReliabilitySpread is the standard deviation across units of logit(reliability);
	// 0 means 0.5. The median stays at Reliability.
	ReliabilitySpread float64
	// GapFraction is the fraction of frames that WithGaps sets to NaN in each
	// behaviour trace, in [0, 0.5); 0 means no gaps.
	GapFraction float64
}

// withDefaults returns s with every zero field replaced by its default.
func (s MouseSpec) withDefaults() MouseSpec {
	if s.Reliability == 0 {
		s.Reliability = 0.7
	}
	if s.ReliabilitySpread == 0 {
		s.ReliabilitySpread = 0.5
	}
	return s
}

// Validate reports the first problem of the spec after defaults are applied, or nil.
func (s MouseSpec) Validate() error {
	s = s.withDefaults()
	bad := func(format string, a ...any) error {
		return fmt.Errorf("mouse spec %q: "+format+": %w", append([]any{s.ID}, append(a, ErrSpec)...)...)
	}
	switch {
	case s.Units < 1 || s.Units > 1<<20:
		return bad("%d units, want 1 to %d", s.Units, 1<<20)
	case !(s.Reliability > 0 && s.Reliability < 1):
		return bad("reliability %g, want a value in (0, 1)", s.Reliability)
	case !(s.ReliabilitySpread >= 0 && s.ReliabilitySpread <= 3):
		return bad("reliability spread %g, want 0 to 3", s.ReliabilitySpread)
	case !(s.GapFraction >= 0 && s.GapFraction < 0.5):
		return bad("gap fraction %g, want a value in [0, 0.5)", s.GapFraction)
	}
	return nil
}

// Mouse is one digital mouse: units drawn from the shared bank, with their positions,
// tuning, gains and noise, and the parameters of its behaviour. It is read-only after
// NewMouse and safe for concurrent use.
type Mouse struct {
	spec  MouseSpec
	bank  *Bank
	units []unit
	order []int // unit indices sorted by scale and RF position (the order units are stepped in)
	beh   behaviorParams
	truth Truth
}

// unit is one model neuron. Its drive is a weighted sum of up to three bank features of
// one class, scale and temporal channel: the dominant orientation and its two neighbours
// with equal weights, so the tuning stays symmetric about the recorded orientation.
type unit struct {
	x, y      float64 // RF centre, pixels
	scale, tf int
	class     Class
	ori       [3]int     // channel orientations: dominant, then the neighbours
	conj      [3]bool    // channel reads conj(z): the −k filter (direction + 180°)
	w         [3]float64 // channel weights (1, wn, wn)
	phase     [3]complex128
	psi       complex128 // simple: exp(−iψ), ψ the phase of the linear filter
	wNull     float64    // ds: weight of the dominant channel's opposite direction
	c50       float64    // semi-saturation of the normalisation, contrast units
	exponent  float64
	target    float64 // drawn mean rate on the calibration clip at rest
	gain      float64 // multiplies the saturated normalised drive, see unit.stim
	sat       float64 // saturation x_s of the normalised drive raised to exponent
	base      float64 // added rate
	betaRun   float64
	betaPupil float64
	aCa       float64 // calcium kernel decay per frame
	kappa     float64 // Poisson counts per frame per unit of rate
	gainSD    float64 // SD of the log of the slow multiplicative noise gain (0: none)
	rel       float64 // target CC_max at ReliabilityRepeats repeats
	feature   int     // dominant bank feature index
}

// NewMouse draws a mouse from spec and calibrates every unit on the bank's calibration
// clip at rest: its gain and saturation so that its mean rate there is its drawn target
// (log-normal, mean 1, log-SD 0.35) and no stimulus can drive it above RateCeiling times
// that target, and its noise (Poisson count scale and slow gain noise, see Respond) so
// that its CC_max at ReliabilityRepeats repeats there is its drawn target reliability.
func NewMouse(bank *Bank, spec MouseSpec) (*Mouse, error) {
	if bank == nil {
		return nil, fmt.Errorf("mouse %q: nil bank: %w", spec.ID, ErrInput)
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	spec = spec.withDefaults()
	rng := rand.New(rand.NewPCG(spec.Seed, 0x6d6f757365)) // stream "mouse"
	m := &Mouse{spec: spec, bank: bank}
	m.beh = drawBehavior(rng)
	m.drawUnits(rng)
	m.order = make([]int, len(m.units))
	for i := range m.order {
		m.order[i] = i
	}
	slices.SortStableFunc(m.order, func(i, j int) int {
		a, b := &m.units[i], &m.units[j]
		return cmp.Or(cmp.Compare(a.scale, b.scale), cmp.Compare(int(a.y), int(b.y)), cmp.Compare(a.x, b.x))
	})
	m.calibrate()
	m.truth = m.buildTruth()
	return m, nil
}

// areaProfile is the layout and tuning of one area. Cortical coordinates are µm in an
// imaging field of 1400 × 1000 µm, x medial → lateral and y anterior → posterior: V1
// medial, the higher areas along its lateral border (RL anterior, AL, then LM
// posterior). Visual-field coordinates are normalised: ±1 is the frame's half-width
// (azimuth, + right) or half-height (elevation, + up). Elevation rises posteriorly in
// every area (the lower field is anterior, RL is biased to it); the higher areas mirror
// V1's azimuth map (field-sign reversal at the shared border).
type areaProfile struct {
	area           Area
	frac           float64    // fraction of units
	x0, x1, y0, y1 float64    // cortical rectangle, µm
	az0, az1       float64    // azimuth at x0 and x1
	el0, el1       float64    // elevation at y0 and y1
	scatterDeg     float64    // RF scatter around the map, degrees
	sfPref, tfPref float64    // preferred SF (cycles/deg) and TF (Hz): Marshel et al. 2011
	class          [3]float64 // fractions of simple, complex, ds
	runGain        float64    // median log gain increase at full running
	pupilGain      float64    // median log gain increase per unit of tanh(pupil change)
}

// areaProfiles returns the four simulated areas.
func areaProfiles() []areaProfile {
	return []areaProfile{
		{area: AreaV1, frac: 0.60, x0: 0, x1: 840, y0: 0, y1: 1000, az0: -0.8, az1: 0.8, el0: -0.75, el1: 0.75,
			scatterDeg: 3, sfPref: 0.04, tfPref: 1.8, class: [3]float64{0.35, 0.45, 0.20}, runGain: 0.35, pupilGain: 0.15},
		{area: AreaLM, frac: 0.15, x0: 840, x1: 1400, y0: 625, y1: 1000, az0: 0.75, az1: -0.2, el0: -0.2, el1: 0.6,
			scatterDeg: 5, sfPref: 0.05, tfPref: 2.0, class: [3]float64{0.25, 0.50, 0.25}, runGain: 0.45, pupilGain: 0.20},
		{area: AreaAL, frac: 0.10, x0: 840, x1: 1400, y0: 375, y1: 625, az0: 0.7, az1: 0.0, el0: -0.4, el1: 0.2,
			scatterDeg: 6, sfPref: 0.025, tfPref: 5.0, class: [3]float64{0.15, 0.45, 0.40}, runGain: 0.50, pupilGain: 0.25},
		{area: AreaRL, frac: 0.15, x0: 840, x1: 1400, y0: 0, y1: 375, az0: 0.6, az1: -0.1, el0: -0.8, el1: -0.2,
			scatterDeg: 6, sfPref: 0.025, tfPref: 4.0, class: [3]float64{0.15, 0.45, 0.40}, runGain: 0.50, pupilGain: 0.25},
	}
}

// Unit parameter ranges (modelling choices).
const (
	neighbourMax = 0.35 // neighbour-orientation weight ~ U(0, neighbourMax)
	nullMax      = 0.5  // ds opposite-direction weight ~ U(0, nullMax)
	expMin       = 1.5  // exponent ~ U(expMin, expMax): Carandini 2004 finds 1–4
	expMax       = 3.0
	c50Median    = 0.08 // semi-saturation (contrast amplitude): with the RMS pool, a grating of Michelson contrast 23 % is half-saturating (mouse V1: 20–30 %)
	baseMin      = 0.02 // baseline fraction of the mean rate ~ U(baseMin, baseMax)
	baseMax      = 0.15
	meanLogSD    = 0.35 // SD of the log target mean rate
	tauCaMin     = 0.2  // calcium kernel τ ~ U(tauCaMin, tauCaMax) seconds
	tauCaMax     = 0.5
	screenMargin = 0.05 // RF centres stay this fraction of the frame inside its edges
)

// Noise and dynamic-range constants (modelling choices, see calibrate).
const (
	// RateCeiling bounds every unit's noise-free rate at rest, for any stimulus, to this
	// multiple of its target mean rate on the calibration clip (the saturation of unit.stim).
	// Real deconvolved responses rarely exceed 20–30 times their mean.
	RateCeiling = 40
	// countsPerFrame is the Poisson count rate per frame, κ·mean, that calibration gives a
	// unit at its target mean rate unless its reliability needs fewer (denser counts are
	// used when it needs less noise): 0.2 counts per frame, 6 events/s at 30 Hz.
	countsPerFrame = 0.2
	// gainNoiseTau is the time constant, seconds, of the slow multiplicative gain noise.
	gainNoiseTau = 1.0
	// maxGainNoiseSD caps the SD of the log noise gain: at 1.5 its 99th percentile is 11
	// times its mean of 1. Units that need more noise get a lower count scale instead.
	maxGainNoiseSD = 1.5
)

// drawUnits draws every unit's area, position and tuning (not yet calibrated).
func (m *Mouse) drawUnits(rng *rand.Rand) {
	b := m.bank
	sp := b.spec
	nOri := sp.Orientations
	halfW := float64(sp.Width) * sp.DegPerPixel / 2
	halfH := float64(sp.Height) * sp.DegPerPixel / 2
	// Per-mouse retinotopy: a small rotation, scaling and shift of the standard maps.
	rot := 5 * math.Pi / 180 * rng.NormFloat64()
	zoom := 1 + 0.05*rng.NormFloat64()
	offAz, offEl := 0.04*rng.NormFloat64(), 0.04*rng.NormFloat64()
	cr, sr := math.Cos(rot), math.Sin(rot)

	profs := areaProfiles()
	counts := apportion(m.spec.Units, profs)
	m.units = make([]unit, 0, m.spec.Units)
	m.truth.PositionUM = make([]float32, 0, 3*m.spec.Units)
	m.truth.Area = make([]Area, 0, m.spec.Units)
	for ai, p := range profs {
		sfW := prefWeights(sp.SF, p.sfPref, 0.6)
		tfW := prefWeights(sp.TF, p.tfPref, 0.7)
		for range counts[ai] {
			var u unit
			cx := p.x0 + (p.x1-p.x0)*rng.Float64()
			cy := p.y0 + (p.y1-p.y0)*rng.Float64()
			depth := 100 + 300*rng.Float64()
			m.truth.PositionUM = append(m.truth.PositionUM, float32(cx), float32(cy), float32(depth))
			m.truth.Area = append(m.truth.Area, p.area)

			az := p.az0 + (p.az1-p.az0)*(cx-p.x0)/(p.x1-p.x0)
			el := p.el0 + (p.el1-p.el0)*(cy-p.y0)/(p.y1-p.y0)
			az, el = zoom*(cr*az-sr*el)+offAz, zoom*(sr*az+cr*el)+offEl
			azDeg := az*halfW + p.scatterDeg*rng.NormFloat64()
			elDeg := el*halfH + p.scatterDeg*rng.NormFloat64()
			azDeg = math.Max(-(1-2*screenMargin)*halfW, math.Min((1-2*screenMargin)*halfW, azDeg))
			elDeg = math.Max(-(1-2*screenMargin)*halfH, math.Min((1-2*screenMargin)*halfH, elDeg))
			u.x = float64(sp.Width-1)/2 + azDeg/sp.DegPerPixel
			u.y = float64(sp.Height-1)/2 - elDeg/sp.DegPerPixel

			u.scale = pick(rng, sfW)
			u.tf = pick(rng, tfW)
			u.class = []Class{ClassSimple, ClassComplex, ClassDS}[pick(rng, p.class[:])]
			o0 := rng.IntN(nOri)
			conj0 := u.class == ClassDS && rng.IntN(2) == 1
			wn := neighbourMax * rng.Float64()
			u.ori = [3]int{o0, (o0 + 1) % nOri, (o0 + nOri - 1) % nOri}
			// A neighbour that wraps past 180° is the conjugate (−k) filter.
			u.conj = [3]bool{conj0, conj0 != (o0+1 == nOri), conj0 != (o0 == 0)}
			u.w = [3]float64{1, wn, wn}
			kind := 4 // complex
			switch u.class {
			case ClassSimple:
				ph := rng.IntN(4)
				u.psi = cmplxExpI(-float64(ph) * math.Pi / 2)
				kind = ph
			case ClassDS:
				u.wNull = nullMax * rng.Float64()
				kind = 5
				if conj0 {
					kind = 6
				}
			}
			u.feature = ((u.scale*nOri+o0)*len(sp.TF)+u.tf)*featureKinds + kind
			s := &b.scales[u.scale]
			for c := range 3 {
				kv := s.kvec[u.ori[c]]
				u.phase[c] = cmplxExpI(-(kv[0]*u.x + kv[1]*u.y))
			}
			u.exponent = expMin + (expMax-expMin)*rng.Float64()
			u.c50 = c50Median * math.Exp(0.3*rng.NormFloat64())
			baseFrac := baseMin + (baseMax-baseMin)*rng.Float64()
			u.target = math.Exp(meanLogSD*rng.NormFloat64() - meanLogSD*meanLogSD/2)
			u.base = baseFrac * u.target
			u.betaRun = p.runGain * math.Exp(0.5*rng.NormFloat64())
			u.betaPupil = p.pupilGain * math.Exp(0.5*rng.NormFloat64())
			lg := math.Log(m.spec.Reliability/(1-m.spec.Reliability)) + m.spec.ReliabilitySpread*rng.NormFloat64()
			u.rel = 1 / (1 + math.Exp(-lg))
			tau := tauCaMin + (tauCaMax-tauCaMin)*rng.Float64()
			u.aCa = math.Exp(-1 / (tau * sp.RateHz))
			m.units = append(m.units, u)
		}
	}
}

// apportion splits n units over the areas by their fractions (largest remainder).
func apportion(n int, profs []areaProfile) []int {
	counts := make([]int, len(profs))
	rem := make([]float64, len(profs))
	left := n
	for i, p := range profs {
		x := p.frac * float64(n)
		counts[i] = int(x)
		rem[i] = x - float64(counts[i])
		left -= counts[i]
	}
	for ; left > 0; left-- {
		best := 0
		for i := range rem {
			if rem[i] > rem[best] {
				best = i
			}
		}
		counts[best]++
		rem[best] = -1
	}
	return counts
}

// prefWeights returns weights over the values vs, a Gaussian in log2 distance from pref
// with the given SD in octaves.
func prefWeights(vs []float64, pref, sdOct float64) []float64 {
	w := make([]float64, len(vs))
	for i, v := range vs {
		d := math.Log2(v / pref)
		w[i] = math.Exp(-d * d / (2 * sdOct * sdOct))
	}
	return w
}

// pick draws an index with probability proportional to w.
func pick(rng *rand.Rand, w []float64) int {
	sum := 0.0
	for _, v := range w {
		sum += v
	}
	x := rng.Float64() * sum
	for i, v := range w {
		if x < v {
			return i
		}
		x -= v
	}
	return len(w) - 1
}

// cmplxExpI returns exp(i·ph).
func cmplxExpI(ph float64) complex128 {
	s, c := math.Sincos(ph)
	return complex(c, s)
}

// Spec returns the mouse's spec with defaults applied.
func (m *Mouse) Spec() MouseSpec { return m.spec }

// Bank returns the bank the mouse's units are drawn from.
func (m *Mouse) Bank() *Bank { return m.bank }

// Units returns the unit table for a recording: ids 1 … U, areas and cortical positions.
func (m *Mouse) Units() data.Units {
	u := data.Units{
		ID:         make([]int64, len(m.units)),
		Area:       make([]string, len(m.units)),
		PositionUM: append([]float32(nil), m.truth.PositionUM...),
	}
	for i := range m.units {
		u.ID[i] = int64(i + 1)
		u.Area[i] = string(m.truth.Area[i])
	}
	return u
}

// String returns the mouse's ID and size, for logs.
func (m *Mouse) String() string {
	return m.spec.ID + " (" + strconv.Itoa(len(m.units)) + " units)"
}
