package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Init says how a parameter starts (MODEL.md 1.4 and the per-module rules of section 4).
type Init struct {
	Kind  InitKind
	Value float32   // the constant of InitConst
	Diag  float32   // the diagonal value of InitEye (off-diagonal 0)
	Vals  []float32 // the per-element values of InitValues (e.g. the monitor centre)
}

// InitKind is a kind of initialisation.
type InitKind int

// The initialisations the reference uses.
const (
	InitZero     InitKind = iota // all zeros
	InitConst                    // all Init.Value
	InitUniform                  // uniform in ±sqrt(1/fan_in) (standardised weights)
	InitUniform3                 // uniform in ±sqrt(3/fan_in) (plain weights)
	InitEye                      // [.., k, k] identity blocks scaled by Init.Diag (readout sigma)
	InitValues                   // Init.Vals repeated to fill the tensor
)

// Zero, Const, Uniform, Uniform3, Eye and Values build an Init.
func Zero() Init               { return Init{Kind: InitZero} }
func Const(v float32) Init     { return Init{Kind: InitConst, Value: v} }
func Uniform() Init            { return Init{Kind: InitUniform} }
func Uniform3() Init           { return Init{Kind: InitUniform3} }
func Eye(d float32) Init       { return Init{Kind: InitEye, Diag: d} }
func Values(v ...float32) Init { return Init{Kind: InitValues, Vals: v} }

// ParamSpec describes one learned tensor: its name (docs/PARAMS.md), shape, start value
// and the metadata the SgdClip optimizer reads (MODEL.md 1.6).
type ParamSpec struct {
	Name  string
	Shape []int
	Init  Init
	// FanIn is the fan-in used by the uniform initialisations (0: product of Shape[1:]).
	FanIn int
	// Scale is the gradient multiplier (U for readout parameters, 1 elsewhere).
	Scale float32
	// Decay says whether weight decay applies.
	Decay bool
	// NormDims lists the axes reduced for the adaptive-clipping norms; nil = whole tensor.
	NormDims []int
	// Stream is the stream index of a per-stream parameter, or -1 when shared.
	Stream int
}

// Size returns the number of elements.
func (p ParamSpec) Size() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// fanIn returns the fan-in used to scale the uniform initialisations.
func (p ParamSpec) fanIn() int {
	if p.FanIn > 0 {
		return p.FanIn
	}
	n := 1
	for _, d := range p.Shape[1:] {
		n *= d
	}
	return n
}

// Fill writes the parameter's initial values into v (len Size) using rng for the random
// kinds.
func (p ParamSpec) Fill(v []float32, rng *rand.Rand) error {
	if len(v) != p.Size() {
		return fmt.Errorf("init %s: %d values for shape %v", p.Name, len(v), p.Shape)
	}
	switch p.Init.Kind {
	case InitZero:
		clear(v)
	case InitConst:
		for i := range v {
			v[i] = p.Init.Value
		}
	case InitUniform, InitUniform3:
		k := 1.0
		if p.Init.Kind == InitUniform3 {
			k = 3
		}
		bound := math.Sqrt(k / float64(p.fanIn()))
		for i := range v {
			v[i] = float32((2*rng.Float64() - 1) * bound)
		}
	case InitEye:
		if len(p.Shape) < 2 || p.Shape[len(p.Shape)-1] != p.Shape[len(p.Shape)-2] {
			return fmt.Errorf("init %s: identity blocks need square trailing axes, shape %v", p.Name, p.Shape)
		}
		k := p.Shape[len(p.Shape)-1]
		clear(v)
		for b := 0; b < len(v); b += k * k {
			for i := range k {
				v[b+i*k+i] = p.Init.Diag
			}
		}
	case InitValues:
		if len(p.Init.Vals) == 0 || len(v)%len(p.Init.Vals) != 0 {
			return fmt.Errorf("init %s: %d values do not tile shape %v", p.Name, len(p.Init.Vals), p.Shape)
		}
		for i := range v {
			v[i] = p.Init.Vals[i%len(p.Init.Vals)]
		}
	default:
		return fmt.Errorf("init %s: unknown kind %d", p.Name, p.Init.Kind)
	}
	return nil
}

// Count returns the total number of elements of specs.
func Count(specs []ParamSpec) int {
	n := 0
	for _, s := range specs {
		n += s.Size()
	}
	return n
}
