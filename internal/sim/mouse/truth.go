package mouse

import (
	"fmt"
	"math"
)

// featureKinds is the number of bank features per (scale, orientation, temporal channel):
// simple at phases 0°, 90°, 180°, 270°, complex, ds at the orientation's direction, ds at
// the opposite direction.
const featureKinds = 7

// FeatureInfo describes one feature of the bank.
type FeatureInfo struct {
	Class       Class
	SF          float64 // cycles/degree, the filter's centre frequency
	TF          float64 // Hz where the feature's temporal filter peaks
	Orientation float64 // degrees in [0, 180), see OrientationDeg
	Direction   float64 // degrees in [0, 360), 0° rightward, 90° up; NaN unless ds
	Phase       float64 // degrees, phase of the linear filter; NaN unless simple
}

// NumFeatures returns K, the number of features in the bank:
// scales × orientations × temporal channels × 7.
func (b *Bank) NumFeatures() int {
	return len(b.scales) * b.spec.Orientations * len(b.tfs) * featureKinds
}

// Feature describes feature k, where k = ((scale·O + orientation)·TFs + tf)·7 + kind and
// kind is 0–3 simple at phase 0°, 90°, 180°, 270°, 4 complex, 5 ds at the orientation's
// direction, 6 ds at the opposite direction.
func (b *Bank) Feature(k int) (FeatureInfo, error) {
	if k < 0 || k >= b.NumFeatures() {
		return FeatureInfo{}, fmt.Errorf("bank feature %d outside [0, %d): %w", k, b.NumFeatures(), ErrInput)
	}
	nOri, nTF := b.spec.Orientations, len(b.tfs)
	kind := k % featureKinds
	tf := k / featureKinds % nTF
	o := k / featureKinds / nTF % nOri
	s := k / featureKinds / nTF / nOri
	fi := FeatureInfo{
		SF:          b.scales[s].sf,
		TF:          b.tfs[tf].tePeakHz,
		Orientation: OrientationDeg(o, nOri),
		Direction:   math.NaN(),
		Phase:       math.NaN(),
	}
	switch {
	case kind < 4:
		fi.Class, fi.Phase = ClassSimple, float64(kind)*90
	case kind == 4:
		fi.Class = ClassComplex
	default:
		fi.Class, fi.TF = ClassDS, b.tfs[tf].hz
		fi.Direction = fi.Orientation + 180*float64(kind-5)
	}
	return fi, nil
}

// Truth is the ground truth of a mouse, one entry per unit in response-column order
// (arrays are [U] unless marked [U,2] or [U,3], row-major). Angles follow the screen: x
// to the right, y up for degrees, 0° rightward and 90° up for directions; pixel
// coordinates have their origin at the centre of the top-left pixel with y pointing down.
type Truth struct {
	Area       []Area
	PositionUM []float32 // [U,3] cortical position: x medial→lateral, y anterior→posterior, depth; µm
	Class      []Class
	Feature    []int32   // index of the dominant bank feature (Bank.Feature)
	RFPixel    []float32 // [U,2] RF centre x, y in pixels (what the unit samples at eye (0, 0))
	RFDeg      []float32 // [U,2] RF centre azimuth (+ right), elevation (+ up) from the frame centre, degrees
	SigmaPixel []float32 // RF size: σ of the Gabor envelope, pixels
	SigmaDeg   []float32 // RF size: σ of the Gabor envelope, degrees
	// Orientation is the preferred orientation in [0, 180): the drift axis of the best
	// grating (bars perpendicular), see OrientationDeg.
	Orientation []float32
	Direction   []float32 // preferred drift direction in [0, 360) for ds units, NaN otherwise
	Phase       []float32 // spatial phase of a simple unit's filter (0 = bright centre), NaN otherwise
	SF          []float32 // preferred spatial frequency, cycles/degree
	TF          []float32 // preferred temporal frequency, Hz
	// The rate before behaviour and calcium is Gain·x·Saturation/(x + Saturation) +
	// Baseline with x = (drive/(SemiSaturation+pool))^Exponent, where drive is the
	// weighted feature sum and pool the local contrast. It never exceeds
	// Gain·Saturation + Baseline = RateCeiling times the unit's calibration mean.
	Gain           []float32
	Saturation     []float32
	Exponent       []float32
	SemiSaturation []float32
	Baseline       []float32
	// The behaviour gain is exp(RunningGain·v/(v+10 cm/s) + PupilGain·tanh((p−p₀)/s)),
	// with p₀ and s the mouse's PupilRest and PupilScale.
	RunningGain []float32
	PupilGain   []float32
	// Reliability is the unit's target CC_max at ReliabilityRepeats repeats.
	Reliability []float32
	CalciumTau  []float32 // τ of the exponential calcium kernel, seconds
	// CountScale is κ and GainNoiseSD is s: observed = calcium(Poisson(κ·g·rate)/κ) per
	// frame, with g = exp(z − s²/2) a log-normal gain noise of mean 1, z a Gaussian AR(1)
	// process of SD s and time constant 1 s (see Respond).
	CountScale  []float32
	GainNoiseSD []float32
	PupilRest   float64 // mouse's resting pupil radius, mm
	PupilScale  float64 // pupil radius change for which the pupil gain reaches tanh(1), mm
}

// buildTruth fills the per-unit truth from the calibrated units.
func (m *Mouse) buildTruth() Truth {
	b := m.bank
	sp := b.spec
	n := len(m.units)
	t := Truth{
		Area:       m.truth.Area,
		PositionUM: m.truth.PositionUM,
		PupilRest:  m.beh.pupilRest,
		PupilScale: pupilScale,
	}
	f32 := func() []float32 { return make([]float32, n) }
	t.Class = make([]Class, n)
	t.Feature = make([]int32, n)
	t.RFPixel, t.RFDeg = make([]float32, 2*n), make([]float32, 2*n)
	t.SigmaPixel, t.SigmaDeg = f32(), f32()
	t.Orientation, t.Direction, t.Phase, t.SF, t.TF = f32(), f32(), f32(), f32(), f32()
	t.Gain, t.Saturation, t.Exponent, t.SemiSaturation, t.Baseline = f32(), f32(), f32(), f32(), f32()
	t.RunningGain, t.PupilGain, t.Reliability, t.CalciumTau, t.CountScale, t.GainNoiseSD = f32(), f32(), f32(), f32(), f32(), f32()
	for i, u := range m.units {
		fi, _ := b.Feature(u.feature) // u.feature is in range by construction
		s := b.scales[u.scale]
		t.Class[i] = u.class
		t.Feature[i] = int32(u.feature)
		t.RFPixel[2*i], t.RFPixel[2*i+1] = float32(u.x), float32(u.y)
		t.RFDeg[2*i] = float32((u.x - float64(sp.Width-1)/2) * sp.DegPerPixel)
		t.RFDeg[2*i+1] = float32(-(u.y - float64(sp.Height-1)/2) * sp.DegPerPixel)
		t.SigmaPixel[i] = float32(s.sigmaPx)
		t.SigmaDeg[i] = float32(s.sigmaPx * sp.DegPerPixel)
		t.Orientation[i] = float32(fi.Orientation)
		t.Direction[i] = float32(fi.Direction)
		t.Phase[i] = float32(fi.Phase)
		t.SF[i] = float32(fi.SF)
		t.TF[i] = float32(fi.TF)
		t.Gain[i] = float32(u.gain)
		t.Saturation[i] = float32(u.sat)
		t.Exponent[i] = float32(u.exponent)
		t.SemiSaturation[i] = float32(u.c50)
		t.Baseline[i] = float32(u.base)
		t.RunningGain[i] = float32(u.betaRun)
		t.PupilGain[i] = float32(u.betaPupil)
		t.Reliability[i] = float32(u.rel)
		t.CalciumTau[i] = float32(-1 / (math.Log(u.aCa) * sp.RateHz))
		t.CountScale[i] = float32(u.kappa)
		t.GainNoiseSD[i] = float32(u.gainSD)
	}
	return t
}

// Truth returns the mouse's ground truth. The slices are shared with the mouse: do not
// modify them.
func (m *Mouse) Truth() Truth { return m.truth }
