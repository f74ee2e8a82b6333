package stimulus

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Clip is one rendered stimulus video with the parameters needed to relate responses to it.
type Clip struct {
	// Kind is the stimulus domain.
	Kind Kind
	// Seed is the seed the clip was rendered from.
	Seed uint64
	// T, H and W are the number of frames and the frame size.
	T, H, W int
	// RateHz is the frame rate and DegPerPixel the visual angle of one pixel.
	RateHz      float64
	DegPerPixel float64
	// Frames holds the grey levels [T, H, W], row-major: pixel (x, y) of frame t is
	// Frames[(t*H+y)*W+x], with x to the right and y down the screen.
	Frames []uint8
	// Params holds clip-level summary values (for example ParamCoherence), ready to be
	// stored as float64 trial attributes.
	Params map[string]float64
	// Segments lists the stimulus epochs in frame order. Segments cover [0, T) without gaps;
	// with Dots.Simultaneous > 1 several segments share one frame range.
	Segments []Segment
}

// Segment is one stimulus epoch: frames [Start, End) and the parameters shown in them.
type Segment struct {
	// Start and End delimit the frames [Start, End).
	Start, End int
	// Params holds the segment's parameters under the Param* keys; a grey blank has
	// ParamBlank = 1 and nothing else.
	Params map[string]float64
}

// Frame returns frame t [H, W] of c, sharing memory with c.Frames.
func (c *Clip) Frame(t int) []uint8 {
	n := c.H * c.W
	return c.Frames[t*n : (t+1)*n]
}

// Parameter keys of Clip.Params and Segment.Params. Angles follow the screen convention of
// MODEL.md 10.3: 0° is rightward and 90° upward (counter-clockwise on screen). Positions are
// pixel coordinates of pixel centres: x to the right from column 0, y down from row 0.
const (
	ParamSensoriumType = "sensorium_type" // clip: SENSORIUM 2023 stimulus type id (Kind.SensoriumType)
	ParamRateHz        = "rate_hz"        // clip: frame rate
	ParamDegPerPixel   = "deg_per_pixel"  // clip: visual angle of one pixel
	ParamSegments      = "segments"       // clip: number of segments

	ParamBlank = "blank" // segment: 1 for a grey blank

	ParamDirectionDeg   = "direction_deg"     // motion direction, degrees
	ParamOrientationDeg = "orientation_deg"   // orientation of a grating's bars (direction + 90) mod 180, degrees
	ParamSFCpd          = "sf_cpd"            // spatial frequency, cycles/degree
	ParamSFCpp          = "sf_cpp"            // spatial frequency, cycles/pixel
	ParamTFHz           = "tf_hz"             // temporal frequency, Hz
	ParamPhaseDeg       = "phase_deg"         // carrier phase at the segment's first frame and the patch centre, degrees
	ParamSigmaPx        = "sigma_px"          // Gaussian envelope σ in pixels; 0 for a full field
	ParamSigmaDeg       = "sigma_deg"         // Gaussian envelope σ in degrees; 0 for a full field
	ParamFullField      = "full_field"        // 1 for a full-field grating
	ParamContrast       = "contrast"          // Michelson (gabor, dots, rdk) or RMS (natural, image, noise) contrast
	ParamXPx            = "x_px"              // centre column
	ParamYPx            = "y_px"              // centre row
	ParamRadiusPx       = "radius_px"         // dot radius in pixels (Gaussian σ for dots)
	ParamRadiusDeg      = "radius_deg"        // dot radius in degrees
	ParamPolarity       = "polarity"          // +1 bright (on), -1 dark (off)
	ParamSpeedPxS       = "speed_px_s"        // speed, pixels/second
	ParamSpeedDegS      = "speed_deg_s"       // speed, degrees/second
	ParamCoherence      = "coherence"         // fraction of coherently moving dots
	ParamDensity        = "density"           // dots per square degree
	ParamDots           = "dots"              // number of dots
	ParamLuminance      = "luminance"         // mean grey level
	ParamObjects        = "objects"           // number of foreground objects
	ParamScene          = "scene"             // index of a natural scene or image in the clip
	ParamExponent       = "spectral_exponent" // exponent α of a natural background's 1/f^α amplitude spectrum
)

// Generate renders a clip of kind k for spec s from seed. The same (k, s, seed) always gives
// identical frames and parameters on a given platform.
func Generate(k Kind, s Spec, seed uint64) (*Clip, error) {
	return GenerateInto(nil, k, s, seed)
}

// GenerateInto is Generate rendering into buf [T, H, W] when its capacity suffices, so that loops
// over many clips do not allocate frame memory; otherwise it allocates. The returned clip's
// Frames aliases buf in the first case.
func GenerateInto(buf []uint8, k Kind, s Spec, seed uint64) (*Clip, error) {
	if err := k.Validate(); err != nil {
		return nil, fmt.Errorf("generate stimulus: %w", err)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("generate %s stimulus: %w", k, err)
	}
	n := s.Frames() * s.Height * s.Width
	if cap(buf) < n {
		buf = make([]uint8, n)
	}
	c := &Clip{
		Kind: k, Seed: seed,
		T: s.Frames(), H: s.Height, W: s.Width,
		RateHz: s.RateHz, DegPerPixel: s.DegPerPixel(),
		Frames: buf[:n],
		Params: map[string]float64{
			ParamSensoriumType: float64(k.SensoriumType()),
			ParamRateHz:        s.RateHz,
			ParamDegPerPixel:   s.DegPerPixel(),
		},
	}
	// A distinct PCG stream per kind keeps equal seeds of different kinds unrelated.
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15+uint64(k.SensoriumType())))
	switch k {
	case KindNatural:
		renderNatural(c, s, rng)
	case KindNoise:
		renderNoise(c, s, rng)
	case KindDots:
		renderDots(c, s, rng)
	case KindRDK:
		renderRDK(c, s, rng)
	case KindGabor:
		renderGabor(c, s, rng)
	case KindImage:
		renderImage(c, s, rng)
	}
	c.Params[ParamSegments] = float64(len(c.Segments))
	return c, nil
}

// ---- helpers shared by the renderers ----

// addSegment appends the segment [start, min(end, T)) and returns the clipped end.
func (c *Clip) addSegment(start, end int, params map[string]float64) int {
	end = min(end, c.T)
	c.Segments = append(c.Segments, Segment{Start: start, End: end, Params: params})
	return end
}

// fillGrey sets frames [start, end) to Grey and records them as one blank segment.
func (c *Clip) fillGrey(start, end int) int {
	end = min(end, c.T)
	if end <= start {
		return start
	}
	n := c.H * c.W
	px := c.Frames[start*n : end*n]
	for i := range px {
		px[i] = Grey
	}
	return c.addSegment(start, end, map[string]float64{ParamBlank: 1})
}

// quantize writes round(src) clamped to [0, 255] into dst.
func quantize(dst []uint8, src []float32) {
	for i, v := range src {
		switch {
		case v <= 0:
			dst[i] = 0
		case v >= 255:
			dst[i] = 255
		default:
			dst[i] = uint8(v + 0.5)
		}
	}
}

// childRNG derives an independent generator from rng, so that one part of a clip (a scene,
// an image) does not shift the random numbers of the next when its internals change.
func childRNG(rng *rand.Rand) *rand.Rand {
	return rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
}

// uniform returns a number drawn uniformly from [lo, hi).
func uniform(rng *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }

// directionCycle deals direction indices 0..n-1 in shuffled rounds, so every direction appears
// equally often over a long clip.
type directionCycle struct {
	rng   *rand.Rand
	order []int
	next  int
}

func newDirectionCycle(rng *rand.Rand, n int) *directionCycle {
	d := &directionCycle{rng: rng, order: make([]int, n)}
	d.next = n
	return d
}

// deal returns the next direction in degrees, in [0, 360).
func (d *directionCycle) deal() float64 {
	if d.next == len(d.order) {
		for i := range d.order {
			d.order[i] = i
		}
		d.rng.Shuffle(len(d.order), func(i, j int) { d.order[i], d.order[j] = d.order[j], d.order[i] })
		d.next = 0
	}
	i := d.order[d.next]
	d.next++
	return 360 * float64(i) / float64(len(d.order))
}

// wave is a smooth random process: a sum of sinusoids with random frequencies and phases.
// It models slow, camera-like drifts without storing a trajectory.
type wave struct {
	amp, freq, phase [3]float64
}

// newWave draws a wave whose components have frequencies in [fLo, fHi) Hz and whose summed
// amplitude is about amp.
func newWave(rng *rand.Rand, amp, fLo, fHi float64) wave {
	var w wave
	for i := range w.amp {
		w.amp[i] = amp / 3 * uniform(rng, 0.5, 1.5)
		w.freq[i] = 2 * math.Pi * uniform(rng, fLo, fHi)
		w.phase[i] = 2 * math.Pi * rng.Float64()
	}
	return w
}

// at returns the wave's value at time t seconds.
func (w *wave) at(t float64) float64 {
	var v float64
	for i := range w.amp {
		v += w.amp[i] * math.Sin(w.freq[i]*t+w.phase[i])
	}
	return v
}

// rad converts degrees to radians.
func rad(deg float64) float64 { return deg * math.Pi / 180 }
