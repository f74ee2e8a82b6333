package model

import (
	"fmt"

	"github.com/fmcore/fmcore/model/core"
	"github.com/fmcore/fmcore/model/modulation"
	"github.com/fmcore/fmcore/model/nn"
	"github.com/fmcore/fmcore/model/perspective"
	"github.com/fmcore/fmcore/model/readout"
)

// Config is the whole network's configuration: the `model:` section of a config file.
type Config struct {
	Streams        int                `yaml:"streams"`         // S, the ensemble inside the model (MODEL.md 1.3)
	StimulusHeight int                `yaml:"stimulus_height"` // input frame height
	StimulusWidth  int                `yaml:"stimulus_width"`  // input frame width
	Perspective    perspective.Config `yaml:"perspective"`
	Modulation     modulation.Config  `yaml:"modulation"`
	Core           core.Config        `yaml:"core"`
	Readout        readout.Config     `yaml:"readout"`
}

// Default returns the released configuration (MODEL.md 2; configs/paper.yaml).
func Default() Config {
	return Config{Streams: 4, StimulusHeight: 144, StimulusWidth: 256, Perspective: perspective.Default(),
		Modulation: modulation.Default(), Core: core.Default(), Readout: readout.Default()}
}

// Validate checks every module's settings and the sizes that must agree between them.
func (c Config) Validate() error {
	switch {
	case c.Streams < 1 || c.Streams > 64:
		return fmt.Errorf("model.streams %d, want 1 to 64", c.Streams)
	case c.StimulusHeight < 2 || c.StimulusWidth < 2:
		return fmt.Errorf("model.stimulus_height/width %d×%d, want at least 2×2", c.StimulusHeight, c.StimulusWidth)
	}
	for _, v := range []interface{ Validate() error }{c.Perspective, c.Modulation, c.Core, c.Readout} {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("model.%w", err)
		}
	}
	if _, _, err := c.Core.OutSize(c.Perspective.RetinaHeight, c.Perspective.RetinaWidth); err != nil {
		return fmt.Errorf("model.%w", err)
	}
	return nil
}

// CoreParams lists the shared core's parameters, every stream.
func (c Config) CoreParams() []nn.ParamSpec {
	var ps []nn.ParamSpec
	for s := range c.Streams {
		ps = append(ps, c.Core.Params(s, c.Modulation.Hidden)...)
	}
	return ps
}

// SessionParams lists one session's own parameters (perspective, modulation, readout)
// for u units.
func (c Config) SessionParams(u int) []nn.ParamSpec {
	ps := c.Perspective.Params()
	for s := range c.Streams {
		ps = append(ps, c.Modulation.Params(s)...)
	}
	return append(ps, c.Readout.Params(u, c.Core.OutChannels(), c.Streams)...)
}
