package perspective

import (
	"errors"
	"fmt"
	"math"

	"github.com/fmcore/fmcore/model/nn"
)

// Periphery is what the retina sees outside the monitor.
type Periphery string

// The periphery choices (MODEL.md 4.1 step 5).
const (
	PeripheryDark   Periphery = "dark"   // zeros outside the monitor
	PeripheryExtend Periphery = "extend" // the monitor's border pixels repeated
)

// Projection is how the retina's pixels look out of the eye.
type Projection string

// The projection choices.
const (
	// ProjectionAngular is the reference's equidistant-azimuthal eye (MODEL.md 4.1 step 3):
	// retinal pixels equally spaced in visual angle over ±RetinaDegrees. On the monitor at
	// its initial pose it magnifies the centre and compresses the edges: a monitor point at
	// eccentricity e lies at distance·tan e, so the side edges (e = atan 2 ≈ 63°) are
	// compressed 1/cos² e = 5 times relative to the centre.
	ProjectionAngular Projection = "angular"
	// ProjectionRectilinear is a pinhole eye with a flat retina whose image of the monitor
	// at its initial pose is the stimulus itself, resampled uniformly pixel centre to pixel
	// centre (RetinaDegrees is not used). It is the geometry of a simulator whose units see
	// the stimulus in pixel space; the eye's rotation and the monitor's pose and jitter act
	// on it as on the angular eye.
	ProjectionRectilinear Projection = "rectilinear"
)

// Config configures the MlpMonitorRetina perspective module (MODEL.md 4.1).
type Config struct {
	EyeHidden     []int           `yaml:"eye_hidden"`        // hidden sizes of the eye MLP (2 → … → 3)
	RetinaHeight  int             `yaml:"retina_height"`     // retinal image height
	RetinaWidth   int             `yaml:"retina_width"`      // retinal image width
	RetinaDegrees float64         `yaml:"retina_degrees"`    // eccentricity at the grid's x edge, degrees (angular)
	Projection    Projection      `yaml:"retina_projection"` // angular (released) or rectilinear
	MonitorPower  float64         `yaml:"monitor_power"`     // monitor gamma of the pixel transform
	Periphery     Periphery       `yaml:"periphery"`
	Nonlinearity  nn.Nonlinearity `yaml:"nonlinearity"`
	// RetinaScale and RetinaOffset initialise the learned retina pixel transform's scale and
	// offset (MODEL.md 4.1 step 6): released 1 and 0; the older loader of cajal/fnn PR #1
	// used 4 and −1.4, which centres the retinal image and quadruples its contrast.
	RetinaScale  float32 `yaml:"retina_scale"`
	RetinaOffset float32 `yaml:"retina_offset"`
	// JitterStd initialises the learned SDs of the monitor's training-time jitter, of its
	// centre (monitor half-widths) and of its angles (radians) (MODEL.md 4.1 step 4):
	// released 0.05. 0 turns the jitter off: training then sees the monitor where
	// evaluation does, and the SDs stay 0.
	JitterStd float32 `yaml:"jitter_std"`
}

// Default returns the released configuration (144×256 stimulus → 128×192 retina).
func Default() Config {
	return Config{EyeHidden: []int{16, 16, 16}, RetinaHeight: 128, RetinaWidth: 192, RetinaDegrees: 75,
		Projection: ProjectionAngular, MonitorPower: 1.7, Periphery: PeripheryDark, Nonlinearity: nn.GELU, RetinaScale: 1, JitterStd: 0.05}
}

// Validate reports the first invalid field, named by its config key.
func (c Config) Validate() error {
	if len(c.EyeHidden) == 0 {
		return errors.New("perspective.eye_hidden: want at least one hidden layer")
	}
	for i, h := range c.EyeHidden {
		if h < 1 {
			return fmt.Errorf("perspective.eye_hidden[%d] = %d, want a positive size", i, h)
		}
	}
	switch {
	case c.RetinaHeight < 2 || c.RetinaWidth < 2:
		return fmt.Errorf("perspective.retina_height/width %d×%d, want at least 2×2", c.RetinaHeight, c.RetinaWidth)
	case !(c.RetinaDegrees > 0 && c.RetinaDegrees <= 180):
		return fmt.Errorf("perspective.retina_degrees %g, want (0, 180]", c.RetinaDegrees)
	case !(c.MonitorPower > 0 && c.MonitorPower < 10):
		return fmt.Errorf("perspective.monitor_power %g, want (0, 10)", c.MonitorPower)
	case !(c.RetinaScale > 0) || math.IsInf(float64(c.RetinaScale), 0):
		return fmt.Errorf("perspective.retina_scale %g, want a finite value > 0 (released: 1)", c.RetinaScale)
	case math.IsNaN(float64(c.RetinaOffset)) || math.IsInf(float64(c.RetinaOffset), 0):
		return fmt.Errorf("perspective.retina_offset %g, want a finite value (released: 0)", c.RetinaOffset)
	case !(c.JitterStd >= 0 && c.JitterStd <= 1):
		return fmt.Errorf("perspective.jitter_std %g, want 0 (no jitter) to 1 (released: 0.05)", c.JitterStd)
	case c.Projection != ProjectionAngular && c.Projection != ProjectionRectilinear:
		return fmt.Errorf("perspective.retina_projection %q, want angular or rectilinear", c.Projection)
	case c.Periphery != PeripheryDark && c.Periphery != PeripheryExtend:
		return fmt.Errorf("perspective.periphery %q, want dark or extend", c.Periphery)
	}
	if err := c.Nonlinearity.Validate(); err != nil {
		return fmt.Errorf("perspective.%w", err)
	}
	return nil
}

// initialDistance is the monitor centre's initial distance from the eye along the line of
// sight, in monitor half-widths (MODEL.md 4.1 step 4).
const initialDistance = 0.5

// Params lists the module's parameters (shared by all streams, one set per session):
// 693 for the released configuration (MODEL.md 5.4).
func (c Config) Params() []nn.ParamSpec {
	var ps []nn.ParamSpec
	in := 2
	sizes := append(append([]int{}, c.EyeHidden...), 3)
	for i, out := range sizes {
		spec := nn.ConvSpec{Name: fmt.Sprintf("perspective.eye.%d", i), In: in, Out: out, Groups: 1, KT: 1, KH: 1, KW: 1, Bias: true}
		if i == 0 {
			spec.ZeroInit = true // the eye rotation starts at the identity (MODEL.md 12.2 item 7)
		} else {
			spec.Standardized, spec.Gain = true, 1
		}
		ps = append(ps, spec.Params(-1)...)
		in = out
	}
	vec := func(name string, init nn.Init) nn.ParamSpec {
		return nn.ParamSpec{Name: name, Shape: []int{3}, Init: init, Scale: 1, Stream: -1}
	}
	ps = append(ps,
		vec("perspective.monitor.center", nn.Values(0, 0, initialDistance)),
		vec("perspective.monitor.angles", nn.Zero()),
		vec("perspective.monitor.center_std", nn.Const(c.JitterStd)),
		vec("perspective.monitor.angle_std", nn.Const(c.JitterStd)),
	)
	for _, p := range []struct {
		name string
		v    float32
	}{{"logit", 0}, {"scale", c.RetinaScale}, {"offset", c.RetinaOffset}} {
		ps = append(ps, nn.ParamSpec{Name: "perspective.retina_pixel." + p.name, Shape: []int{1}, Init: nn.Const(p.v), Scale: 1, Stream: -1})
	}
	return ps
}
