package nn

import (
	"fmt"
	"strconv"
)

// Nonlinearity is a configurable activation, always followed by its fixed gamma (MODEL.md
// 1.4) where the reference applies one.
type Nonlinearity string

// The nonlinearities of the reference.
const (
	GELU     Nonlinearity = "gelu"
	SiLU     Nonlinearity = "silu"
	ELU      Nonlinearity = "elu"
	Tanh     Nonlinearity = "tanh"
	Identity Nonlinearity = "identity"
)

// Gamma returns the NF-Net constant that keeps unit variance for standard-normal input
// (MODEL.md 1.4; used verbatim, not recomputed).
func (n Nonlinearity) Gamma() float64 {
	switch n {
	case GELU:
		return 1.7015043
	case SiLU:
		return 1.7881293
	case ELU:
		return 1.2716005
	case Tanh:
		return 1.5939118
	}
	return 1
}

// Validate reports whether n is a known nonlinearity.
func (n Nonlinearity) Validate() error {
	switch n {
	case GELU, SiLU, ELU, Tanh, Identity:
		return nil
	}
	return fmt.Errorf("nonlinearity %q, want gelu, silu, elu, tanh or identity", string(n))
}

// ConvSpec describes the parameters of one convolution or linear layer (a linear layer
// is a convolution with KT = KH = KW = 1). Weights are stored [Out, In/Groups, KT, KH, KW]
// (MODEL.md 1.5); gains and biases [Out].
type ConvSpec struct {
	Name            string // module path, e.g. "core.feedforward.inputs.1"
	In, Out, Groups int
	KT, KH, KW      int
	Standardized    bool    // scaled weight standardisation (MODEL.md 1.4); false = plain
	Gain            float32 // initial gain; 0 = no gain parameter
	Bias            bool
	BiasInit        float32
	ZeroInit        bool // weights start at zero (the first eye and modulation layers)
}

// Validate checks the sizes.
func (c ConvSpec) Validate() error {
	switch {
	case c.In < 1 || c.Out < 1 || c.Groups < 1:
		return fmt.Errorf("%s: in %d, out %d, groups %d must be positive", c.Name, c.In, c.Out, c.Groups)
	case c.In%c.Groups != 0 || c.Out%c.Groups != 0:
		return fmt.Errorf("%s: %d groups do not divide in %d and out %d", c.Name, c.Groups, c.In, c.Out)
	case c.KT < 1 || c.KH < 1 || c.KW < 1:
		return fmt.Errorf("%s: kernel %d×%d×%d must be positive", c.Name, c.KT, c.KH, c.KW)
	}
	return nil
}

// FanIn is the number of inputs of one output unit: (In/Groups)·KT·KH·KW.
func (c ConvSpec) FanIn() int { return c.In / c.Groups * c.KT * c.KH * c.KW }

// Params lists the layer's parameters for stream s (s < 0 for a shared layer).
func (c ConvSpec) Params(s int) []ParamSpec {
	init := Uniform3()
	if c.Standardized {
		init = Uniform()
	}
	if c.ZeroInit {
		init = Zero()
	}
	out := []ParamSpec{{
		Name: StreamName(c.Name+".weight", s), Shape: []int{c.Out, c.In / c.Groups, c.KT, c.KH, c.KW},
		Init: init, Scale: 1, Decay: true, NormDims: []int{1, 2, 3, 4}, Stream: s,
	}}
	if c.Standardized && c.Gain != 0 {
		out = append(out, ParamSpec{Name: StreamName(c.Name+".gain", s), Shape: []int{c.Out}, Init: Const(c.Gain), Scale: 1, Stream: s})
	}
	if c.Bias {
		out = append(out, ParamSpec{Name: StreamName(c.Name+".bias", s), Shape: []int{c.Out}, Init: Const(c.BiasInit), Scale: 1, Stream: s})
	}
	return out
}

// StreamName appends the stream index to a per-stream parameter's name
// ("….weight.2"); shared names (s < 0) are returned as they are.
func StreamName(name string, s int) string {
	if s < 0 {
		return name
	}
	return name + "." + strconv.Itoa(s)
}
