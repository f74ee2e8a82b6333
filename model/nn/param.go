package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
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

// Params gives graph nodes by parameter name. A module asks for the names it needs with
// Get; a name the caller did not provide is remembered, so the module's entry point can
// report every missing name at once (Missing) instead of failing deep inside a graph.
type Params struct {
	nodes   map[string]*G.Node
	missing []string
}

// NewParams wraps a name → node map.
func NewParams(nodes map[string]*G.Node) *Params { return &Params{nodes: nodes} }

// Get returns the node named name, or nil (and remembers the name) when there is none.
func (p *Params) Get(name string) *G.Node {
	n, ok := p.nodes[name]
	if !ok {
		p.missing = append(p.missing, name)
	}
	return n
}

// Missing returns the names asked for that were not there.
func (p *Params) Missing() []string { return p.missing }

// Nodes returns the underlying map.
func (p *Params) Nodes() map[string]*G.Node { return p.nodes }

// NewSlots creates one learnable node per spec in g, named by the spec's name with its
// stream suffix removed: the graph computes one stream, and a caller copies the drawn
// stream's values into the slots before each run (MODEL.md 1.3). Values start at zero.
// tag, usually empty, is put before every node's name (not the map's keys): a node's name
// enters gorgonia's hash of it and of every node computed from it, so another tag draws
// other hashes for the whole graph. (A prefix, not a suffix: FNV-1a keeps two colliding
// strings colliding when both get the same suffix.)
func NewSlots(g *G.ExprGraph, dt tensor.Dtype, specs []ParamSpec, tag string) (*Params, error) {
	nodes := make(map[string]*G.Node, len(specs))
	for _, s := range specs {
		name := SlotName(s)
		if _, dup := nodes[name]; dup {
			continue // another stream's copy of the same slot
		}
		t := tensor.New(tensor.Of(dt), tensor.WithShape(s.Shape...))
		nodes[name] = G.NewTensor(g, dt, len(s.Shape), G.WithShape(s.Shape...), G.WithName(tag+name), G.WithValue(t))
	}
	return NewParams(nodes), nil
}

// SlotName returns the stream-agnostic name of a parameter ("….weight" for
// "….weight.2").
func SlotName(s ParamSpec) string {
	if s.Stream < 0 {
		return s.Name
	}
	return strings.TrimSuffix(s.Name, "."+strconv.Itoa(s.Stream))
}
