package modeltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fmcore/fmcore/model/nn"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Gradient checks of graph code against central finite differences, in float64, through the
// real lifecycle (G.Grad, a TapeMachine with bound dual values, Reset, RunAll), and float32
// forward passes against float64 ones.

// GradInput is one input of a checked graph.
type GradInput struct {
	Name  string
	Shape []int     // at least one axis
	Value []float64 // row-major; nil: uniform in [−1, 1) from the check's seed
	// NoGrad marks data and targets: given to Builder.NoGrad, not differentiated, not checked.
	NoGrad bool
}

// BuildFunc builds the graph under test on the input nodes (in the order of the GradInputs).
type BuildFunc func(b *nn.Builder, in []*G.Node) *G.Node

// FDStep is the central-difference step (the 1e-6). Its truncation error,
// FDStep²·|f”'|/6 ≈ 1e-13, is negligible; its rounding error, the loss's last-bit noise divided
// by 2·FDStep, is what limits the check: measured about 2e-9 absolute on a 480-output
// convolution (it falls tenfold for each tenfold larger step, so it is rounding, not the op).
const FDStep = 1e-6

// GradTol is the largest accepted relative error between an analytic gradient a and its finite
// difference n (the requirement).
const GradTol = 1e-5

// GradFloor keeps RelErr meaningful for gradients near zero: RelErr = |a − n| / max(|a| + |n|,
// GradFloor). Above the floor it is a true relative error; gradients smaller than that are held
// to an absolute error of GradTol·GradFloor = 1e-7, fifty times the finite differences' own
// noise (FDStep). A tinier floor would judge that noise, not the gradient; a real error (a wrong
// index, a missing term) is of the order of the gradients themselves, 0.1–10 in these checks.
const GradFloor = 1e-2

// RelErr is the error measure of GradCheck, |a − n| / max(|a| + |n|, GradFloor).
func RelErr(a, n float64) float64 {
	return math.Abs(a-n) / math.Max(math.Abs(a)+math.Abs(n), GradFloor)
}

// GradReport is the outcome of GradCheck: the largest RelErr per checked input, and the
// largest gradient magnitude seen (to show the check was not vacuous).
type GradReport struct {
	MaxErr  map[string]float64
	MaxGrad map[string]float64
}

// GradCheck builds loss = Σ(build(inputs) ⊙ R) in a float64 graph, with R fixed random weights
// of the output's shape (so the upstream gradient is R, not all ones), computes the gradient of
// every input without NoGrad through G.Grad and a TapeMachine, and compares each element with the
// central finite difference (loss(x+h) − loss(x−h))/2h, h = FDStep, run on the same machine. It
// fails t when any RelErr exceeds GradTol, or when the build fails.
func GradCheck(t testing.TB, build BuildFunc, inputs []GradInput, seed uint64) GradReport {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x9c4d))
	g := G.NewGraph()
	b := nn.NewBuilder(g, nil)
	nodes, vals := makeInputs(t, g, b, tensor.Float64, inputs, rng)
	y := build(b, nodes)
	if err := b.Err(); err != nil {
		t.Fatalf("build: %v", err)
	}
	// R must not depend on the inputs' random values: draw it after them.
	r := make([]float64, max(1, y.Shape().TotalSize()))
	for i := range r {
		r[i] = 2*rng.Float64() - 1
	}
	var loss *G.Node
	if y.IsScalar() {
		loss = b.Scale(y, r[0])
	} else {
		rn := G.NewTensor(g, tensor.Float64, y.Dims(), G.WithShape(y.Shape()...), G.WithName("R"),
			G.WithValue(tensor.New(tensor.WithShape(y.Shape()...), tensor.WithBacking(r))))
		b.NoGrad(rn)
		loss = b.Sum(b.Mul(y, rn))
	}
	if err := b.Err(); err != nil {
		t.Fatalf("loss: %v", err)
	}
	var wrt []*G.Node
	for i, in := range inputs {
		if !in.NoGrad {
			wrt = append(wrt, nodes[i])
		}
	}
	if _, err := G.Grad(loss, wrt...); err != nil {
		t.Fatalf("G.Grad: %v", err)
	}
	vm := G.NewTapeMachine(g, G.BindDualValues(wrt...))
	defer vm.Close()
	run := func() float64 {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatalf("run: %v", err)
		}
		return scalar(t, loss.Value())
	}
	run()
	// Read every analytic gradient before the finite differences: each further run adds to the
	// bound gradients (TOOLCHAIN.md 2.3).
	analytic := make([][]float64, len(inputs))
	for i, in := range inputs {
		if in.NoGrad {
			continue
		}
		gv, err := nodes[i].Grad()
		if err != nil {
			t.Fatalf("gradient of %s: %v", in.Name, err)
		}
		analytic[i] = Float64s(gv)
	}
	rep := GradReport{MaxErr: map[string]float64{}, MaxGrad: map[string]float64{}}
	for i, in := range inputs {
		if in.NoGrad {
			continue
		}
		x := vals[i]
		worst, at := 0.0, 0
		for j := range x {
			v := x[j]
			x[j] = v + FDStep
			lp := run()
			x[j] = v - FDStep
			lm := run()
			x[j] = v
			fd := (lp - lm) / (2 * FDStep)
			if e := RelErr(analytic[i][j], fd); e > worst || math.IsNaN(e) {
				worst, at = e, j
				if math.IsNaN(e) {
					worst = math.Inf(1)
				}
			}
			rep.MaxGrad[in.Name] = math.Max(rep.MaxGrad[in.Name], math.Abs(analytic[i][j]))
		}
		rep.MaxErr[in.Name] = worst
		if worst > GradTol {
			t.Errorf("d loss/d %s: relative error %.3g > %.0e at element %d (analytic %v)", in.Name, worst, GradTol, at, analytic[i][at])
		}
	}
	return rep
}

// ForwardDtypes builds the graph once in float32 and once in float64 on the same input values
// (drawn in float64 and rounded to float32) and returns the float32 output's error relative to
// the float64 one: max|y32 − y64| / max(max|y64|, 1e-30).
func ForwardDtypes(t testing.TB, build BuildFunc, inputs []GradInput, seed uint64) float64 {
	t.Helper()
	outs := make([][]float64, 2)
	for k, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		rng := rand.New(rand.NewPCG(seed, 0x9c4d))
		g := G.NewGraph()
		b := nn.NewBuilder(g, nil)
		nodes, _ := makeInputs(t, g, b, dt, inputs, rng)
		y := build(b, nodes)
		if err := b.Err(); err != nil {
			t.Fatalf("build %v: %v", dt, err)
		}
		vm := G.NewTapeMachine(g)
		if err := vm.RunAll(); err != nil {
			t.Fatalf("run %v: %v", dt, err)
		}
		outs[k] = Float64s(y.Value())
		vm.Close()
	}
	var num, den float64
	for i, w := range outs[1] {
		num = math.Max(num, math.Abs(outs[0][i]-w))
		den = math.Max(den, math.Abs(w))
	}
	return num / math.Max(den, 1e-30)
}

// makeInputs creates one input node per GradInput with dtype dt and returns the nodes and, for
// float64, their backing slices (for perturbation).
func makeInputs(t testing.TB, g *G.ExprGraph, b *nn.Builder, dt tensor.Dtype, inputs []GradInput, rng *rand.Rand) ([]*G.Node, [][]float64) {
	t.Helper()
	nodes := make([]*G.Node, len(inputs))
	vals := make([][]float64, len(inputs))
	for i, in := range inputs {
		n := tensor.Shape(in.Shape).TotalSize()
		v := in.Value
		if v == nil {
			v = make([]float64, n)
			for j := range v {
				v[j] = 2*rng.Float64() - 1
			}
		} else {
			v = append([]float64(nil), v...)
		}
		if len(v) != n || n == 0 {
			t.Fatalf("input %s: %d values for shape %v", in.Name, len(v), in.Shape)
		}
		var val *tensor.Dense
		if dt == tensor.Float32 {
			f := make([]float32, n)
			for j, x := range v {
				f[j] = float32(x)
			}
			val = tensor.New(tensor.WithShape(in.Shape...), tensor.WithBacking(f))
		} else {
			val = tensor.New(tensor.WithShape(in.Shape...), tensor.WithBacking(v))
			vals[i] = v
		}
		nodes[i] = G.NewTensor(g, dt, len(in.Shape), G.WithShape(in.Shape...), G.WithName(in.Name), G.WithValue(val))
		if in.NoGrad {
			b.NoGrad(nodes[i])
		}
	}
	return nodes, vals
}

// Float64s returns a copy of a float32 or float64 value (tensor or scalar) as float64s.
func Float64s(v G.Value) []float64 {
	switch v := v.(type) {
	case *G.F32:
		return []float64{float64(*v)}
	case *G.F64:
		return []float64{float64(*v)}
	case tensor.Tensor:
		if m, ok := v.(tensor.View); ok && m.IsMaterializable() {
			v = m.Materialize()
		}
		switch d := v.Data().(type) {
		case []float32:
			out := make([]float64, len(d))
			for i, x := range d {
				out[i] = float64(x)
			}
			return out
		case []float64:
			return append([]float64(nil), d...)
		case float32:
			return []float64{float64(d)}
		case float64:
			return []float64{d}
		}
	}
	panic(fmt.Sprintf("modeltest: value of type %T", v))
}

// scalar returns a scalar value as float64.
func scalar(t testing.TB, v G.Value) float64 {
	t.Helper()
	f := Float64s(v)
	if len(f) != 1 {
		t.Fatalf("loss has %d elements, want a scalar", len(f))
	}
	return f[0]
}
