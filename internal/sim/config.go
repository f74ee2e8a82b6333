package sim

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/fmcore/fmcore/internal/sim/stimulus"
)

// ErrConfig is wrapped by every error Config.Validate returns.
var ErrConfig = errors.New("invalid simulation settings")

// Preset names a ready-made simulation size.
type Preset string

// The presets of `fmcore simulate --preset`.
const (
	// PresetDemo is a few mice with a few hundred units and a few minutes each: generated
	// in well under a minute on 2 cores; used by `make demo` and the tests.
	PresetDemo Preset = "demo"
	// PresetSmall is the CPU experiment set and the default dataset of `fmcore train`: 14
	// foundation mice and 2 new mice, 500 units, 20 minutes of training data each.
	PresetSmall Preset = "small"
	// PresetPaper is the scale of the reference: 14 mice of about 8,000 units at 144×256.
	PresetPaper Preset = "paper"
)

// Presets lists every preset.
var Presets = []Preset{PresetDemo, PresetSmall, PresetPaper}

// Config describes a simulated dataset. Start from PresetConfig and change fields.
type Config struct {
	Mice    int // foundation mice, numbered 1..Mice
	NewMice int // extra mice for fine-tuning, numbered Mice+1..Mice+NewMice
	Units   int // units per mouse
	// Minutes is the natural-movie training plus validation time per mouse.
	Minutes float64
	// ValidationFraction is the share of those clips in the validation tier.
	ValidationFraction float64
	// ClipSeconds is the length of every clip (trial).
	ClipSeconds float64
	// TestClips natural clips, each shown Repeats times, form the natural test tier.
	TestClips int
	Repeats   int
	// Domains lists the out-of-domain stimulus kinds; each gets OODClips clips shown
	// Repeats times in the test tier.
	Domains  []stimulus.Kind
	OODClips int
	// Width, Height and RateHz are the video size and the recording clock.
	Width, Height int
	RateHz        float64
	// Reliability is the median CC_max of the units at 10 repeats, in (0, 1): the noise
	// level of the observed responses (1 would be noise-free).
	Reliability float64
	Seed        uint64
}

// PresetConfig returns the settings of a preset.
func PresetConfig(p Preset) (Config, error) {
	c := Config{
		ValidationFraction: 0.1,
		ClipSeconds:        10,
		TestClips:          6,
		Repeats:            10,
		Domains:            []stimulus.Kind{stimulus.KindGabor, stimulus.KindDots, stimulus.KindRDK, stimulus.KindNoise, stimulus.KindImage},
		OODClips:           1,
		Width:              64,
		Height:             36,
		RateHz:             30,
		Reliability:        0.7,
		Seed:               1,
	}
	switch p {
	case PresetDemo:
		c.Mice, c.NewMice, c.Units, c.Minutes = 3, 1, 200, 2
		c.TestClips, c.Repeats = 2, 4
	case PresetSmall:
		c.Mice, c.NewMice, c.Units, c.Minutes = 14, 2, 500, 20
		c.OODClips = 2
	case PresetPaper:
		c.Mice, c.NewMice, c.Units, c.Minutes = 14, 2, 8000, 60
		c.Width, c.Height = 256, 144
		c.OODClips = 2
	default:
		return Config{}, fmt.Errorf("preset %q: %w (want demo, small or paper)", p, ErrConfig)
	}
	return c, nil
}

// Validate reports the first problem of the settings, naming the flag a user sets.
func (c Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf(format+": %w", append(a, ErrConfig)...)
	}
	finitePos := func(x float64) bool { return x > 0 && !math.IsInf(x, 0) }
	switch {
	case c.Mice < 1 || c.Mice > 999:
		return bad("--mice %d, want 1 to 999", c.Mice)
	case c.NewMice < 0 || c.Mice+c.NewMice > 999:
		return bad("--new-mice %d, want 0 to %d", c.NewMice, 999-c.Mice)
	case c.Units < 1 || c.Units > 100000:
		return bad("--units %d, want 1 to 100000", c.Units)
	case !finitePos(c.Minutes) || c.Minutes > 100000:
		return bad("--minutes %g, want a positive number of minutes", c.Minutes)
	case !(c.ValidationFraction >= 0 && c.ValidationFraction < 1):
		return bad("validation fraction %g, want 0 to 1", c.ValidationFraction)
	case !finitePos(c.ClipSeconds) || c.ClipSeconds > 600:
		return bad("--clip-seconds %g, want 0 to 600", c.ClipSeconds)
	case c.TestClips < 0 || c.TestClips > 10000:
		return bad("--test-clips %d, want 0 to 10000", c.TestClips)
	case c.Repeats < 1 || c.Repeats > 1000:
		return bad("--repeats %d, want 1 to 1000", c.Repeats)
	case c.OODClips < 0 || c.OODClips > 10000:
		return bad("out-of-domain clips %d, want 0 to 10000", c.OODClips)
	case c.Width < 16 || c.Height < 16 || c.Width > 4096 || c.Height > 4096:
		return bad("--width %d --height %d, want 16 to 4096 pixels each", c.Width, c.Height)
	case !finitePos(c.RateHz) || c.RateHz > 1000:
		return bad("--rate %g, want 0 to 1000 Hz", c.RateHz)
	case !(c.Reliability > 0 && c.Reliability < 1):
		return bad("--reliability %g, want a number between 0 and 1 (exclusive)", c.Reliability)
	}
	seen := map[stimulus.Kind]bool{}
	for _, d := range c.Domains {
		if err := d.Validate(); err != nil {
			return bad("--domains: %v", err)
		}
		if d == stimulus.KindNatural {
			return bad("--domains: natural is the training domain, list only out-of-domain kinds (gabor, dots, rdk, noise, image)")
		}
		if seen[d] {
			return bad("--domains: %s listed twice", d)
		}
		seen[d] = true
	}
	if c.clipFrames() < 1 {
		return bad("--clip-seconds %g at %g Hz gives no frames", c.ClipSeconds, c.RateHz)
	}
	if c.trainClips() < 1 {
		return bad("--minutes %g gives no %g s clip", c.Minutes, c.ClipSeconds)
	}
	return nil
}

// ParseDomains parses a comma-separated list of out-of-domain kinds ("" is none).
func ParseDomains(s string) ([]stimulus.Kind, error) {
	var out []stimulus.Kind
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		k, err := stimulus.ParseKind(f)
		if err != nil {
			return nil, fmt.Errorf("--domains: %w", err)
		}
		out = append(out, k)
	}
	return out, nil
}

// clipFrames is T of every trial.
func (c Config) clipFrames() int { return int(math.Round(c.ClipSeconds * c.RateHz)) }

// trainClips is the number of natural training plus validation clips per mouse.
func (c Config) trainClips() int { return int(math.Round(c.Minutes * 60 / c.ClipSeconds)) }

// validationClips is how many of those are in the validation tier (at least one when
// there are two or more clips and the fraction is positive).
func (c Config) validationClips() int {
	n := c.trainClips()
	v := int(math.Round(c.ValidationFraction * float64(n)))
	if v == 0 && c.ValidationFraction > 0 && n >= 2 {
		v = 1
	}
	return min(v, n-1)
}
