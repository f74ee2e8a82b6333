package stimulus

import (
	"errors"
	"fmt"
	"math"
)

// ErrSpec is wrapped by every error that Spec.Validate returns.
var ErrSpec = errors.New("invalid stimulus spec")

// ErrKind is wrapped by the error for an unknown stimulus kind.
var ErrKind = errors.New("unknown stimulus kind")

// Kind names one stimulus domain. The six kinds follow the SENSORIUM 2023 stimulus types
// (PEERS.md section 1, MODEL.md section 10.1).
type Kind string

// The stimulus kinds. KindNatural is the training domain; the others are out of domain.
const (
	KindNatural Kind = "natural" // natural-like movies with scene cuts (SENSORIUM type 0)
	KindNoise   Kind = "noise"   // directional pink noise, "Monet"-like (type 1)
	KindDots    Kind = "dots"    // flashing Gaussian dots on grey (type 2)
	KindRDK     Kind = "rdk"     // random-dot kinematograms (type 3)
	KindGabor   Kind = "gabor"   // drifting Gabor patches and gratings (type 4)
	KindImage   Kind = "image"   // static natural-like images with grey blanks (type 5)
)

// Kinds returns every kind in SENSORIUM 2023 type order (natural first).
func Kinds() []Kind {
	return []Kind{KindNatural, KindNoise, KindDots, KindRDK, KindGabor, KindImage}
}

// ParseKind returns the Kind named s, or an error wrapping ErrKind that lists the valid names.
func ParseKind(s string) (Kind, error) {
	k := Kind(s)
	if err := k.Validate(); err != nil {
		return "", err
	}
	return k, nil
}

// Validate reports whether k is one of the six kinds.
func (k Kind) Validate() error {
	if k.SensoriumType() < 0 {
		return fmt.Errorf("stimulus kind %q: %w (want one of natural, noise, dots, rdk, gabor, image)", string(k), ErrKind)
	}
	return nil
}

// SensoriumType returns the SENSORIUM 2023 stimulus type id of k (0 natural movie, 1 pink noise,
// 2 Gaussian dots, 3 RDK, 4 drifting Gabor, 5 static image), or -1 for an unknown kind.
func (k Kind) SensoriumType() int {
	for i, c := range Kinds() {
		if c == k {
			return i
		}
	}
	return -1
}

// Grey is the uint8 mid-grey of blanks and backgrounds: the rounded midpoint of [0, 255].
const Grey = 128

// Spec describes a clip to render: its size, rate, duration, the monitor geometry and the options
// of each kind. Start from DefaultSpec and change fields; Validate checks every field.
type Spec struct {
	// Width and Height are the frame size in pixels (W, H).
	Width  int `yaml:"width"`
	Height int `yaml:"height"`
	// RateHz is the frame rate in frames per second.
	RateHz float64 `yaml:"rate_hz"`
	// Seconds is the clip duration; the clip has T = round(Seconds·RateHz) frames.
	Seconds float64 `yaml:"seconds"`
	// FieldDeg is the horizontal visual angle spanned by the Width pixels of the monitor, in
	// degrees. Pixels are square, so DegPerPixel is FieldDeg / Width. The reference's monitor
	// spans about 127°; the default 120 makes 64 px ≈ 120°.
	FieldDeg float64 `yaml:"field_deg"`

	Natural NaturalOptions `yaml:"natural"`
	Noise   NoiseOptions   `yaml:"noise"`
	Dots    DotsOptions    `yaml:"dots"`
	RDK     RDKOptions     `yaml:"rdk"`
	Gabor   GaborOptions   `yaml:"gabor"`
	Image   ImageOptions   `yaml:"image"`
}

// NaturalOptions configures natural-like movies; KindImage draws its images from the same
// scene model.
type NaturalOptions struct {
	// SceneMinSeconds and SceneMaxSeconds bound the uniformly drawn length of a scene; a
	// scene cut (new background, objects and motion) separates scenes.
	SceneMinSeconds float64 `yaml:"scene_min_seconds"`
	SceneMaxSeconds float64 `yaml:"scene_max_seconds"`
	// MinObjects and MaxObjects bound the number of textured foreground objects per scene.
	MinObjects int `yaml:"min_objects"`
	MaxObjects int `yaml:"max_objects"`
	// ContrastMin and ContrastMax bound each scene's target RMS contrast (std / mean).
	ContrastMin float64 `yaml:"contrast_min"`
	ContrastMax float64 `yaml:"contrast_max"`
	// LuminanceMin and LuminanceMax bound each scene's mean grey level (0–255).
	LuminanceMin float64 `yaml:"luminance_min"`
	LuminanceMax float64 `yaml:"luminance_max"`
}

// NoiseOptions configures directional pink noise.
type NoiseOptions struct {
	// Directions is the number of equally spaced motion directions (16 in the lab's Monet2).
	Directions int `yaml:"directions"`
	// SegmentSeconds is the duration of one direction segment.
	SegmentSeconds float64 `yaml:"segment_seconds"`
	// SpeedDeg is the drift speed in degrees per second.
	SpeedDeg float64 `yaml:"speed_deg"`
	// OriConcentration is the von Mises concentration κ of the orientation filter applied to
	// the noise spectrum: larger values give more coherent stripes.
	OriConcentration float64 `yaml:"ori_concentration"`
	// CutoffCpd is the spatial frequency (cycles/degree) of the Gaussian roll-off on top of
	// the 1/f spectrum.
	CutoffCpd float64 `yaml:"cutoff_cpd"`
	// Contrast is the RMS contrast (std / mean) of the noise.
	Contrast float64 `yaml:"contrast"`
}

// DotsOptions configures flashing Gaussian dots.
type DotsOptions struct {
	// RadiusDeg lists the dot radii to draw from, in degrees; the radius is the standard
	// deviation σ of the Gaussian profile.
	RadiusDeg []float64 `yaml:"radius_deg"`
	// DotSeconds is how long each flash lasts.
	DotSeconds float64 `yaml:"dot_seconds"`
	// GapSeconds is the grey pause after each flash (0: flashes follow each other).
	GapSeconds float64 `yaml:"gap_seconds"`
	// Simultaneous is the number of dots shown in one flash.
	Simultaneous int `yaml:"simultaneous"`
	// Contrast is the dot's peak deviation from grey as a fraction of the available range.
	Contrast float64 `yaml:"contrast"`
}

// RDKOptions configures random-dot kinematograms.
type RDKOptions struct {
	// Directions is the number of equally spaced coherent-motion directions.
	Directions int `yaml:"directions"`
	// Coherence is the fraction of dots moving in the segment's direction; the others move
	// in independent random directions at the same speed.
	Coherence float64 `yaml:"coherence"`
	// SpeedDeg is the dot speed in degrees per second.
	SpeedDeg float64 `yaml:"speed_deg"`
	// Density is the number of dots per square degree.
	Density float64 `yaml:"density"`
	// DotRadiusDeg is the radius of each (hard-edged, anti-aliased) dot in degrees.
	DotRadiusDeg float64 `yaml:"dot_radius_deg"`
	// SegmentMinSeconds and SegmentMaxSeconds bound the uniformly drawn segment length.
	SegmentMinSeconds float64 `yaml:"segment_min_seconds"`
	SegmentMaxSeconds float64 `yaml:"segment_max_seconds"`
	// Contrast is the dots' deviation from grey as a fraction of the available range; half
	// of the dots are bright and half dark.
	Contrast float64 `yaml:"contrast"`
}

// GaborOptions configures drifting Gabor patches and gratings.
type GaborOptions struct {
	// Directions is the number of equally spaced drift directions.
	Directions int `yaml:"directions"`
	// SFCpd lists the spatial frequencies to draw from, in cycles/degree.
	SFCpd []float64 `yaml:"sf_cpd"`
	// TFHz lists the temporal frequencies to draw from, in Hz.
	TFHz []float64 `yaml:"tf_hz"`
	// SigmaDeg lists the Gaussian envelope σ to draw from, in degrees; 0 means a full-field
	// grating (the σ → ∞ case).
	SigmaDeg []float64 `yaml:"sigma_deg"`
	// Contrast is the Michelson contrast of the carrier at the envelope's peak.
	Contrast float64 `yaml:"contrast"`
	// OnSeconds is the duration of one Gabor segment, OffSeconds the grey pause after it.
	OnSeconds  float64 `yaml:"on_seconds"`
	OffSeconds float64 `yaml:"off_seconds"`
}

// ImageOptions configures static natural-like images; their statistics come from
// Spec.Natural.
type ImageOptions struct {
	// OnSeconds is how long each image is held.
	OnSeconds float64 `yaml:"on_seconds"`
	// BlankMinSeconds and BlankMaxSeconds bound the uniformly drawn grey blank after each
	// image.
	BlankMinSeconds float64 `yaml:"blank_min_seconds"`
	BlankMaxSeconds float64 `yaml:"blank_max_seconds"`
}

// DefaultSpec returns a valid Spec: 64×36 pixels at 30 Hz for 10 s (the SENSORIUM 2023 trial),
// a 120° wide monitor, and the default options of every kind. Paper-level out-of-domain
// parameters are unverified (MODEL.md 10.1); the defaults are mid-range values for mouse V1
// (spatial frequencies around the preferred 0.04 cpd, speeds of tens of degrees per second).
func DefaultSpec() Spec {
	return Spec{
		Width:    64,
		Height:   36,
		RateHz:   30,
		Seconds:  10,
		FieldDeg: 120,
		Natural: NaturalOptions{
			SceneMinSeconds: 2,
			SceneMaxSeconds: 5,
			MinObjects:      1,
			MaxObjects:      5,
			ContrastMin:     0.2,
			ContrastMax:     0.32,
			LuminanceMin:    105,
			LuminanceMax:    150,
		},
		Noise: NoiseOptions{
			Directions: 16,
			// 10 s / 16 directions: a default clip shows each direction once.
			SegmentSeconds:   0.625,
			SpeedDeg:         20,
			OriConcentration: 1.5,
			CutoffCpd:        0.16,
			Contrast:         0.3,
		},
		Dots: DotsOptions{
			RadiusDeg:    []float64{4, 8},
			DotSeconds:   0.2,
			GapSeconds:   0,
			Simultaneous: 1,
			Contrast:     1,
		},
		RDK: RDKOptions{
			Directions:        8,
			Coherence:         1,
			SpeedDeg:          40,
			Density:           0.01,
			DotRadiusDeg:      2.5,
			SegmentMinSeconds: 0.5,
			SegmentMaxSeconds: 1,
			Contrast:          1,
		},
		Gabor: GaborOptions{
			Directions: 8,
			SFCpd:      []float64{0.02, 0.04, 0.08, 0.16},
			TFHz:       []float64{1, 2, 4},
			SigmaDeg:   []float64{10, 20, 0},
			Contrast:   1,
			OnSeconds:  1,
			OffSeconds: 0.5,
		},
		Image: ImageOptions{
			OnSeconds:       0.5,
			BlankMinSeconds: 0.3,
			BlankMaxSeconds: 0.5,
		},
	}
}

// DegPerPixel returns the visual angle of one pixel in degrees, FieldDeg / Width.
func (s Spec) DegPerPixel() float64 { return s.FieldDeg / float64(s.Width) }

// Frames returns the number of frames T = round(Seconds·RateHz).
func (s Spec) Frames() int { return int(math.Round(s.Seconds * s.RateHz)) }

// frames converts a duration to a whole number of frames (at least 1).
func (s Spec) frames(seconds float64) int {
	return max(1, int(math.Round(seconds*s.RateHz)))
}

// maxFramePixels bounds T·H·W so one clip stays below 2 GiB.
const maxFramePixels = 1 << 31

// maxCyclesPerPixel is the highest spatial frequency a grating may have: 0.8 of the Nyquist
// frequency, so that the pixel grid does not alias it into a coarser pattern.
const maxCyclesPerPixel = 0.4

// Validate checks every field of s, including the options of every kind, and returns a
// one-line error wrapping ErrSpec that names the first bad field.
func (s Spec) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("stimulus spec: %s: %w", fmt.Sprintf(format, args...), ErrSpec)
	}
	switch {
	case s.Width < 8 || s.Width > 4096 || s.Height < 8 || s.Height > 4096:
		return bad("frame size %dx%d (WxH) is outside 8..4096 pixels per side", s.Width, s.Height)
	case !(s.RateHz > 0 && s.RateHz <= 1000):
		return bad("rate_hz %g must be in (0, 1000]", s.RateHz)
	case !(s.Seconds > 0) || s.Frames() < 1:
		return bad("seconds %g gives %d frames at %g Hz; want at least one", s.Seconds, s.Frames(), s.RateHz)
	case float64(s.Frames())*float64(s.Width)*float64(s.Height) > maxFramePixels:
		return bad("clip of %d frames of %dx%d exceeds 2^31 pixels; shorten it", s.Frames(), s.Width, s.Height)
	case !(s.FieldDeg > 0 && s.FieldDeg < 360):
		return bad("field_deg %g must be in (0, 360)", s.FieldDeg)
	}
	if err := checkFinite(s); err != nil {
		return bad("%v", err)
	}
	for _, check := range []func(Spec) error{
		validateNatural, validateNoise, validateDots, validateRDK, validateGabor, validateImage,
	} {
		if err := check(s); err != nil {
			return bad("%v", err)
		}
	}
	return nil
}

// checkFinite rejects NaN and ±Inf in every scalar option, so that the range checks below
// (written as !(lo <= v && v <= hi) so NaN fails them too) never see an infinite duration.
func checkFinite(s Spec) error {
	fields := []struct {
		name string
		v    float64
	}{
		{"natural.scene_min_seconds", s.Natural.SceneMinSeconds}, {"natural.scene_max_seconds", s.Natural.SceneMaxSeconds},
		{"natural.contrast_min", s.Natural.ContrastMin}, {"natural.contrast_max", s.Natural.ContrastMax},
		{"natural.luminance_min", s.Natural.LuminanceMin}, {"natural.luminance_max", s.Natural.LuminanceMax},
		{"noise.segment_seconds", s.Noise.SegmentSeconds}, {"noise.speed_deg", s.Noise.SpeedDeg},
		{"noise.ori_concentration", s.Noise.OriConcentration}, {"noise.cutoff_cpd", s.Noise.CutoffCpd},
		{"noise.contrast", s.Noise.Contrast},
		{"dots.dot_seconds", s.Dots.DotSeconds}, {"dots.gap_seconds", s.Dots.GapSeconds}, {"dots.contrast", s.Dots.Contrast},
		{"rdk.coherence", s.RDK.Coherence}, {"rdk.speed_deg", s.RDK.SpeedDeg}, {"rdk.density", s.RDK.Density},
		{"rdk.dot_radius_deg", s.RDK.DotRadiusDeg}, {"rdk.segment_min_seconds", s.RDK.SegmentMinSeconds},
		{"rdk.segment_max_seconds", s.RDK.SegmentMaxSeconds}, {"rdk.contrast", s.RDK.Contrast},
		{"gabor.contrast", s.Gabor.Contrast}, {"gabor.on_seconds", s.Gabor.OnSeconds}, {"gabor.off_seconds", s.Gabor.OffSeconds},
		{"image.on_seconds", s.Image.OnSeconds}, {"image.blank_min_seconds", s.Image.BlankMinSeconds},
		{"image.blank_max_seconds", s.Image.BlankMaxSeconds},
	}
	for _, f := range fields {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("%s is %g; want a finite number", f.name, f.v)
		}
	}
	return nil
}

func validateNatural(s Spec) error {
	o := s.Natural
	switch {
	case !(o.SceneMinSeconds > 0 && o.SceneMinSeconds <= o.SceneMaxSeconds):
		return fmt.Errorf("natural.scene_min_seconds %g and scene_max_seconds %g must satisfy 0 < min <= max", o.SceneMinSeconds, o.SceneMaxSeconds)
	case o.MinObjects < 0 || o.MinObjects > o.MaxObjects || o.MaxObjects > 64:
		return fmt.Errorf("natural.min_objects %d and max_objects %d must satisfy 0 <= min <= max <= 64", o.MinObjects, o.MaxObjects)
	case !(o.ContrastMin > 0 && o.ContrastMin <= o.ContrastMax && o.ContrastMax <= 1):
		return fmt.Errorf("natural.contrast_min %g and contrast_max %g must satisfy 0 < min <= max <= 1", o.ContrastMin, o.ContrastMax)
	case !(o.LuminanceMin >= 16 && o.LuminanceMin <= o.LuminanceMax && o.LuminanceMax <= 240):
		return fmt.Errorf("natural.luminance_min %g and luminance_max %g must satisfy 16 <= min <= max <= 240", o.LuminanceMin, o.LuminanceMax)
	}
	return nil
}

func validateNoise(s Spec) error {
	o := s.Noise
	switch {
	case o.Directions < 1 || o.Directions > 360:
		return fmt.Errorf("noise.directions %d must be in 1..360", o.Directions)
	case !(o.SegmentSeconds > 0):
		return fmt.Errorf("noise.segment_seconds %g must be positive", o.SegmentSeconds)
	case !(o.SpeedDeg >= 0):
		return fmt.Errorf("noise.speed_deg %g must be >= 0", o.SpeedDeg)
	case !(o.OriConcentration >= 0 && o.OriConcentration <= 100):
		return fmt.Errorf("noise.ori_concentration %g must be in [0, 100]", o.OriConcentration)
	case !(o.CutoffCpd > 0):
		return fmt.Errorf("noise.cutoff_cpd %g must be positive", o.CutoffCpd)
	case !(o.Contrast > 0 && o.Contrast <= 1):
		return fmt.Errorf("noise.contrast %g must be in (0, 1]", o.Contrast)
	}
	return nil
}

func validateDots(s Spec) error {
	o := s.Dots
	if len(o.RadiusDeg) == 0 {
		return fmt.Errorf("dots.radius_deg is empty; give at least one radius in degrees")
	}
	for i, r := range o.RadiusDeg {
		if !(r > 0) || r/s.DegPerPixel() > float64(max(s.Width, s.Height)) {
			return fmt.Errorf("dots.radius_deg[%d] = %g must be positive and at most one frame side (%g deg)", i, r, float64(max(s.Width, s.Height))*s.DegPerPixel())
		}
	}
	switch {
	case !(o.DotSeconds > 0):
		return fmt.Errorf("dots.dot_seconds %g must be positive", o.DotSeconds)
	case !(o.GapSeconds >= 0):
		return fmt.Errorf("dots.gap_seconds %g must be >= 0", o.GapSeconds)
	case o.Simultaneous < 1 || o.Simultaneous > 64:
		return fmt.Errorf("dots.simultaneous %d must be in 1..64", o.Simultaneous)
	case !(o.Contrast > 0 && o.Contrast <= 1):
		return fmt.Errorf("dots.contrast %g must be in (0, 1]", o.Contrast)
	}
	return nil
}

func validateRDK(s Spec) error {
	o := s.RDK
	areaDeg2 := float64(s.Width*s.Height) * s.DegPerPixel() * s.DegPerPixel()
	switch {
	case o.Directions < 1 || o.Directions > 360:
		return fmt.Errorf("rdk.directions %d must be in 1..360", o.Directions)
	case !(o.Coherence >= 0 && o.Coherence <= 1):
		return fmt.Errorf("rdk.coherence %g must be in [0, 1]", o.Coherence)
	case !(o.SpeedDeg >= 0):
		return fmt.Errorf("rdk.speed_deg %g must be >= 0", o.SpeedDeg)
	case !(o.Density > 0) || o.Density*areaDeg2 > 1e5:
		return fmt.Errorf("rdk.density %g dots/deg^2 must be positive and give at most 1e5 dots (%g deg^2 on screen)", o.Density, areaDeg2)
	case !(o.DotRadiusDeg > 0) || o.DotRadiusDeg/s.DegPerPixel() > float64(min(s.Width, s.Height))/4:
		return fmt.Errorf("rdk.dot_radius_deg %g must be positive and at most a quarter of the short frame side", o.DotRadiusDeg)
	case !(o.SegmentMinSeconds > 0 && o.SegmentMinSeconds <= o.SegmentMaxSeconds):
		return fmt.Errorf("rdk.segment_min_seconds %g and segment_max_seconds %g must satisfy 0 < min <= max", o.SegmentMinSeconds, o.SegmentMaxSeconds)
	case !(o.Contrast > 0 && o.Contrast <= 1):
		return fmt.Errorf("rdk.contrast %g must be in (0, 1]", o.Contrast)
	}
	return nil
}

func validateGabor(s Spec) error {
	o := s.Gabor
	switch {
	case o.Directions < 1 || o.Directions > 360:
		return fmt.Errorf("gabor.directions %d must be in 1..360", o.Directions)
	case len(o.SFCpd) == 0 || len(o.TFHz) == 0 || len(o.SigmaDeg) == 0:
		return fmt.Errorf("gabor.sf_cpd, tf_hz and sigma_deg each need at least one value")
	case !(o.Contrast > 0 && o.Contrast <= 1):
		return fmt.Errorf("gabor.contrast %g must be in (0, 1]", o.Contrast)
	case !(o.OnSeconds > 0):
		return fmt.Errorf("gabor.on_seconds %g must be positive", o.OnSeconds)
	case !(o.OffSeconds >= 0):
		return fmt.Errorf("gabor.off_seconds %g must be >= 0", o.OffSeconds)
	}
	for i, sf := range o.SFCpd {
		if cpp := sf * s.DegPerPixel(); !(sf > 0) || cpp > maxCyclesPerPixel {
			return fmt.Errorf("gabor.sf_cpd[%d] = %g is %.3g cycles/pixel at %.3g deg/px; want (0, %g]: lower it or raise the width", i, sf, cpp, s.DegPerPixel(), maxCyclesPerPixel)
		}
	}
	for i, tf := range o.TFHz {
		if !(tf >= 0 && tf < s.RateHz/2) {
			return fmt.Errorf("gabor.tf_hz[%d] = %g must be in [0, %g), below half the frame rate", i, tf, s.RateHz/2)
		}
	}
	for i, sg := range o.SigmaDeg {
		if !(sg >= 0) || math.IsInf(sg, 0) {
			return fmt.Errorf("gabor.sigma_deg[%d] = %g must be finite and >= 0 (0 is a full-field grating)", i, sg)
		}
	}
	return nil
}

func validateImage(s Spec) error {
	o := s.Image
	switch {
	case !(o.OnSeconds > 0):
		return fmt.Errorf("image.on_seconds %g must be positive", o.OnSeconds)
	case !(o.BlankMinSeconds >= 0 && o.BlankMinSeconds <= o.BlankMaxSeconds):
		return fmt.Errorf("image.blank_min_seconds %g and blank_max_seconds %g must satisfy 0 <= min <= max", o.BlankMinSeconds, o.BlankMaxSeconds)
	}
	return nil
}
