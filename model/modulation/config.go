package modulation

import (
	"fmt"

	"github.com/fmcore/fmcore/model/nn"
)

// Config configures the MlpLstm modulation module (MODEL.md 4.2): [pupil radius,
// running speed] → Linear → nonlinearity → LSTM.
type Config struct {
	Features     int             `yaml:"features"`    // MLP output size
	Hidden       int             `yaml:"hidden"`      // LSTM size; the module's output width
	InitInput    float32         `yaml:"init_input"`  // input-gate bias
	InitForget   float32         `yaml:"init_forget"` // forget-gate bias
	Dropout      float64         `yaml:"dropout"`     // of the LSTM's x and h (released 0)
	Nonlinearity nn.Nonlinearity `yaml:"nonlinearity"`
}

// Inputs is the number of behaviour inputs per frame.
const Inputs = 2

// Default returns the released configuration.
func Default() Config {
	return Config{Features: 16, Hidden: 16, InitInput: -1, InitForget: 1, Nonlinearity: nn.GELU}
}

// Validate reports the first invalid field, named by its config key.
func (c Config) Validate() error {
	switch {
	case c.Features < 1:
		return fmt.Errorf("modulation.features %d, want a positive size", c.Features)
	case c.Hidden < 1:
		return fmt.Errorf("modulation.hidden %d, want a positive size", c.Hidden)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return fmt.Errorf("modulation.dropout %g, want [0, 1)", c.Dropout)
	}
	if err := c.Nonlinearity.Validate(); err != nil {
		return fmt.Errorf("modulation.%w", err)
	}
	return nil
}

// MLP returns the spec of the plain input layer.
func (c Config) MLP() nn.ConvSpec {
	return nn.ConvSpec{Name: "modulation.mlp", In: Inputs, Out: c.Features, Groups: 1, KT: 1, KH: 1, KW: 1, Bias: true, ZeroInit: true}
}

// Gates returns the specs of the LSTM's i, f, g, o layers on [x, h].
func (c Config) Gates() []nn.ConvSpec {
	bias := []float32{c.InitInput, c.InitForget, 0, 0}
	var out []nn.ConvSpec
	for i, g := range []string{"i", "f", "g", "o"} {
		out = append(out, nn.ConvSpec{Name: "modulation.lstm." + g, In: c.Features + c.Hidden, Out: c.Hidden, Groups: 1,
			KT: 1, KH: 1, KW: 1, Standardized: true, Gain: 1, Bias: true, BiasInit: bias[i]})
	}
	return out
}

// Params lists the parameters of stream s: 2,224 per stream for the released
// configuration (MODEL.md 5.4).
func (c Config) Params(s int) []nn.ParamSpec {
	ps := c.MLP().Params(s)
	for _, g := range c.Gates() {
		ps = append(ps, g.Params(s)...)
	}
	return ps
}
