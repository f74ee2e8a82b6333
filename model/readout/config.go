package readout

import (
	"fmt"

	"github.com/fmcore/fmcore/model/nn"
)

// Config configures the PositionFeature readout (MODEL.md 4.6).
type Config struct {
	InitStd float64 `yaml:"init_std"` // initial position spread: sigma = InitStd·I
}

// Default returns the released configuration.
func Default() Config { return Config{InitStd: 0.4} }

// Validate reports the first invalid field, named by its config key.
func (c Config) Validate() error {
	if !(c.InitStd >= 0 && c.InitStd < 10) {
		return fmt.Errorf("readout.init_std %g, want [0, 10)", c.InitStd)
	}
	return nil
}

// Params lists the readout parameters of a session with u units reading a core of
// width channels, for s streams: 2 + 4 + s·(width + 1) per unit (522 for the released
// configuration, MODEL.md 4.6). Every gradient is scaled by U (MODEL.md 1.6).
func (c Config) Params(u, width, streams int) []nn.ParamSpec {
	scale := float32(u)
	ps := []nn.ParamSpec{
		{Name: "readout.mu", Shape: []int{u, 2}, Init: nn.Zero(), Scale: scale, Stream: -1},
		{Name: "readout.sigma", Shape: []int{u, 2, 2}, Init: nn.Eye(float32(c.InitStd)), Scale: scale, Stream: -1},
	}
	for s := range streams {
		ps = append(ps,
			nn.ParamSpec{Name: nn.StreamName("readout.features", s), Shape: []int{u, width}, Init: nn.Zero(), Scale: scale, Decay: true, NormDims: []int{1}, Stream: s},
			nn.ParamSpec{Name: nn.StreamName("readout.bias", s), Shape: []int{u}, Init: nn.Zero(), Scale: scale, Stream: s},
		)
	}
	return ps
}
