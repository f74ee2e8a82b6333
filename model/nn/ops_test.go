package nn_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fmcore/fmcore/model/modeltest"
	"github.com/fmcore/fmcore/model/nn"
	G "gorgonia.org/gorgonia"
)

// Every kernel op, in several configurations, checked twice: its float64 gradients against
// central finite differences (modeltest.GradCheck, relative error < 1e-5), and its float32
// forward pass against the float64 one.

// tol32 is the accepted relative error of a float32 forward pass against the float64 one: the
// float32 run starts from inputs rounded to float32 (6e-8 relative) and rounds every product;
// the kernels' own tests bound their float32 error by 1e-5 against float64 references
// (internal/kernels, tol32), and these tiny graphs chain at most a few kernels.
const tol32 = 1e-5

// opCase is one configuration of one op.
type opCase struct {
	name   string
	build  modeltest.BuildFunc
	inputs []modeltest.GradInput
}

// x names an input with random values in [−1, 1).
func x(name string, shape ...int) modeltest.GradInput {
	return modeltest.GradInput{Name: name, Shape: shape}
}

// vals names an input with the given values.
func vals(name string, v []float64, shape ...int) modeltest.GradInput {
	return modeltest.GradInput{Name: name, Shape: shape, Value: v}
}

// uniform returns n values uniform in [lo, hi).
func uniform(seed uint64, n int, lo, hi float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	v := make([]float64, n)
	for i := range v {
		v[i] = lo + (hi-lo)*rng.Float64()
	}
	return v
}

// opCases are the configurations the brief asks for: groups, stride 2 with replicate padding,
// causal and valid time, border and zero padding, more sample points than pixels, attention
// with 2 groups, LSTM with P = 1 and P > 1 and a zero initial state, Poisson with NaN targets.
func opCases() []opCase {
	nan := math.NaN()
	target := uniform(5, 10, 0, 3)
	target[2], target[7] = nan, nan
	return []opCase{
		{"conv3d/causal-groups2-bias", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.Conv3d(in[0], in[1], in[2], nn.ConvOpts{Groups: 2, PadH: 1, PadW: 1})
		}, []modeltest.GradInput{x("x", 2, 4, 3, 4, 5), x("w", 4, 2, 2, 3, 3), x("bias", 4)}},
		{"conv3d/stride2-replicate", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.Conv3d(in[0], in[1], in[2], nn.ConvOpts{StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Replicate: true})
		}, []modeltest.GradInput{x("x", 2, 1, 2, 6, 6), x("w", 3, 1, 1, 4, 4), x("bias", 3)}},
		{"conv3d/valid-time", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.Conv3d(in[0], in[1], nil, nn.ConvOpts{PadH: 1, PadW: 1, Valid: true})
		}, []modeltest.GradInput{x("x", 1, 2, 4, 3, 4), x("w", 3, 2, 3, 3, 3)}},
		{"conv3d/linear", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.Conv3d(in[0], in[1], in[2], nn.ConvOpts{})
		}, []modeltest.GradInput{x("x", 3, 5, 1, 1, 1), x("w", 4, 5, 1, 1, 1), x("bias", 4)}},
		{"weightstd/gain", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.WeightStd(in[0], in[1])
		}, []modeltest.GradInput{x("w", 3, 2, 1, 2, 2), x("gain", 3)}},
		{"weightstd/no-gain", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.WeightStd(in[0], nil)
		}, []modeltest.GradInput{x("w", 4, 6)}},
		{"gelu", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.GELU(in[0])
		}, []modeltest.GradInput{vals("x", uniform(1, 24, -4, 4), 2, 3, 4)}},
		{"avgpool2/odd", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.AvgPool2(in[0])
		}, []modeltest.GradInput{x("x", 1, 2, 2, 5, 4)}},
		{"gridsample/zeros-P>HW", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.GridSample(in[0], in[1], false)
		}, []modeltest.GradInput{x("img", 2, 2, 3, 4), vals("grid", uniform(2, 80, -1.3, 1.3), 2, 20, 2)}},
		{"gridsample/border", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.GridSample(in[0], in[1], true)
		}, []modeltest.GradInput{x("img", 1, 3, 4, 3), vals("grid", uniform(3, 32, -1.3, 1.3), 1, 16, 2)}},
		{"attention/2-groups", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.Attention(in[0], in[1], in[2], in[3])
		}, []modeltest.GradInput{x("q", 2, 2, 3, 5), x("k", 2, 2, 3, 5), x("v", 2, 2, 3, 5), vals("scales", uniform(4, 6, 0.5, 2), 2, 3)}},
		{"lstm/P1", func(b *nn.Builder, in []*G.Node) *G.Node {
			c, h := b.LSTM(in[0], in[1], 1)
			return b.Concat(0, c, h)
		}, []modeltest.GradInput{vals("gates", uniform(5, 24, -3, 3), 2, 1, 4, 3, 1), x("cPrev", 2, 3, 1)}},
		{"lstm/P6-groups2", func(b *nn.Builder, in []*G.Node) *G.Node {
			c, h := b.LSTM(in[0], in[1], 2)
			return b.Concat(0, c, h)
		}, []modeltest.GradInput{vals("gates", uniform(6, 96, -3, 3), 2, 2, 4, 2, 3), x("cPrev", 2, 4, 3)}},
		{"lstm/zero-state-h-only", func(b *nn.Builder, in []*G.Node) *G.Node {
			_, h := b.LSTM(in[0], nil, 2)
			return h
		}, []modeltest.GradInput{vals("gates", uniform(7, 32, -3, 3), 1, 2, 4, 2, 2)}},
		{"poisson/nan-targets", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.PoissonLoss(in[0], in[1])
		}, []modeltest.GradInput{x("logRate", 2, 5), {Name: "target", Shape: []int{2, 5}, Value: target, NoGrad: true}}},
	}
}

func TestKernelOpGradients(t *testing.T) {
	for i, tc := range opCases() {
		t.Run(tc.name, func(t *testing.T) {
			rep := modeltest.GradCheck(t, tc.build, tc.inputs, uint64(i))
			for name, e := range rep.MaxErr {
				// A check of all-zero gradients would pass vacuously.
				if rep.MaxGrad[name] < 0.05 {
					t.Errorf("%s: largest gradient %.3g, the check says nothing", name, rep.MaxGrad[name])
				}
				t.Logf("%s: max relative error %.2g (largest gradient %.3g)", name, e, rep.MaxGrad[name])
			}
		})
	}
}

func TestKernelOpFloat32MatchesFloat64(t *testing.T) {
	for i, tc := range opCases() {
		t.Run(tc.name, func(t *testing.T) {
			if e := modeltest.ForwardDtypes(t, tc.build, tc.inputs, uint64(i)); e > tol32 {
				t.Errorf("float32 forward: relative error %.3g > %.0e", e, tol32)
			} else {
				t.Logf("float32 vs float64: %.2g", e)
			}
		})
	}
}

// wrapperCases check the gradients of the gorgonia wrappers that do more than call gorgonia:
// CatGroups, any-rank broadcasting, Slice keeping its axis, the nonlinearities with their
// gammas, ClampMin.
func wrapperCases() []opCase {
	var cases []opCase
	for _, n := range []nn.Nonlinearity{nn.GELU, nn.SiLU, nn.ELU, nn.Tanh} {
		cases = append(cases, opCase{"act/" + string(n), func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.Act(in[0], n)
		}, []modeltest.GradInput{vals("x", uniform(8, 12, -2, 2), 3, 4)}})
	}
	return append(cases,
		opCase{"catgroups", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.CatGroups(2, in[0], in[1])
		}, []modeltest.GradInput{x("a", 2, 4, 1, 3), x("b", 2, 6, 1, 3)}},
		opCase{"broadcastadd-5d-bias", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.BroadcastAdd(in[0], in[1], nil, []byte{0, 2, 3, 4})
		}, []modeltest.GradInput{x("x", 2, 3, 2, 2, 2), x("bias", 1, 3, 1, 1, 1)}},
		opCase{"broadcastmul-left", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.BroadcastMul(in[0], in[1], []byte{2, 3}, nil)
		}, []modeltest.GradInput{x("m", 2, 3, 1, 1), x("x", 2, 3, 2, 4)}},
		opCase{"slice-keeps-axis", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.Slice(in[0], 1, 2, 3)
		}, []modeltest.GradInput{x("x", 2, 4, 3)}},
		opCase{"clampmin", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.ClampMin(in[0], 0.1)
		}, []modeltest.GradInput{vals("x", []float64{-1, 0.05, 0.3, 0.8, 0.15, -0.2}, 6)}},
		opCase{"matmul-transpose", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.Transpose(b.MatMul(in[0], in[1]), 1, 0)
		}, []modeltest.GradInput{x("a", 3, 4), x("b", 4, 2)}},
		opCase{"div-pow-sub", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.Sub(b.Div(in[0], in[1]), b.Pow(in[1], in[2]))
		}, []modeltest.GradInput{x("a", 2, 3), vals("b", uniform(9, 6, 0.5, 2), 2, 3), x("p", 2, 3)}},
		opCase{"mean-sum-exp", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.Add(b.Mean(b.Exp(in[0]), 0, 2), b.Sum(b.Square(in[0]), 0, 2))
		}, []modeltest.GradInput{x("x", 2, 3, 4)}},
	)
}

// arithCases exercise the elementwise kernel ops (arith.go) where their gradients differ: both
// operands broadcast at once (a row times a column), a repeated divisor, a scalar on the left,
// a repeated operand subtracted, and the functions.
func arithCases() []opCase {
	cases := []opCase{
		{"broadcastmul-row-times-column", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.BroadcastMul(in[0], in[1], []byte{1}, []byte{0})
		}, []modeltest.GradInput{x("col", 4, 1), x("row", 1, 5)}},
		{"broadcastdiv-repeated-divisor", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.BroadcastDiv(in[0], in[1], nil, []byte{0, 2})
		}, []modeltest.GradInput{x("x", 2, 3, 4), vals("y", uniform(11, 3, 0.5, 2), 1, 3, 1)}},
		{"broadcastsub-repeated-right", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.BroadcastSub(in[0], in[1], nil, []byte{1})
		}, []modeltest.GradInput{x("x", 3, 4), x("y", 3, 1)}},
		{"scalar-left-sub-div", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.Div(b.Sub(b.Constant(2, in[0]), in[0]), b.AddConst(b.Square(in[1]), 1))
		}, []modeltest.GradInput{x("x", 2, 5), x("y", 2, 5)}},
	}
	for _, f := range []struct {
		name string
		fn   func(b *nn.Builder, x *G.Node) *G.Node
		lo   float64
	}{
		{"tanh", (*nn.Builder).Tanh, -3}, {"sigmoid", (*nn.Builder).Sigmoid, -3}, {"exp", (*nn.Builder).Exp, -3},
		{"log", (*nn.Builder).Log, 0.2}, {"sqrt", (*nn.Builder).Sqrt, 0.2}, {"sin", (*nn.Builder).Sin, -3},
		{"cos", (*nn.Builder).Cos, -3}, {"neg", (*nn.Builder).Neg, -3},
	} {
		cases = append(cases, opCase{"function/" + f.name, func(b *nn.Builder, in []*G.Node) *G.Node {
			return f.fn(b, in[0])
		}, []modeltest.GradInput{vals("x", uniform(12, 12, f.lo, 3), 3, 4)}})
	}
	return cases
}

func TestArithGradients(t *testing.T) {
	for i, tc := range arithCases() {
		t.Run(tc.name, func(t *testing.T) {
			rep := modeltest.GradCheck(t, tc.build, tc.inputs, uint64(300+i))
			for name := range rep.MaxErr {
				if rep.MaxGrad[name] < 0.05 {
					t.Errorf("%s: largest gradient %.3g, the check says nothing", name, rep.MaxGrad[name])
				}
			}
		})
	}
}

func TestArithFloat32MatchesFloat64(t *testing.T) {
	for i, tc := range append(arithCases(), wrapperCases()...) {
		t.Run(tc.name, func(t *testing.T) {
			if e := modeltest.ForwardDtypes(t, tc.build, tc.inputs, uint64(300+i)); e > tol32 {
				t.Errorf("float32 forward: relative error %.3g > %.0e", e, tol32)
			}
		})
	}
}

// TestOutputsRecomputedEachRun checks that kernel ops, which keep their output buffer from run
// to run, give the new inputs' values on a second run (not the first run's) and that a value
// read after a run is that run's.
func TestOutputsRecomputedEachRun(t *testing.T) {
	g := G.NewGraph()
	b := nn.NewBuilder(g, nil)
	xn := G.NewTensor(g, G.Float64, 2, G.WithShape(2, 3), G.WithName("x"))
	y := b.Sum(b.Mul(b.Tanh(xn), b.Exp(xn)), 1)
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	for run, v := range [][]float64{{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, {-1, 0, 1, 2, -2, 0.5}} {
		if err := G.Let(xn, tensorOf([]int{2, 3}, v)); err != nil {
			t.Fatal(err)
		}
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		got := modeltest.Float64s(y.Value())
		for r := range 2 {
			var want float64
			for _, e := range v[3*r : 3*r+3] {
				want += math.Tanh(e) * math.Exp(e)
			}
			if math.Abs(got[r]-want) > 1e-12 {
				t.Errorf("run %d row %d: %v, want %v", run, r, got[r], want)
			}
		}
	}
}

func TestWrapperGradients(t *testing.T) {
	for i, tc := range wrapperCases() {
		t.Run(tc.name, func(t *testing.T) {
			modeltest.GradCheck(t, tc.build, tc.inputs, uint64(100+i))
		})
	}
}

// TestCatGroupsOrder checks CatGroups against the permutation of MODEL.md 1.5 written by hand:
// with 2 groups, a's 4 channels and b's 6 become a0 a1 b0 b1 b2 a2 a3 b3 b4 b5.
func TestCatGroupsOrder(t *testing.T) {
	g := G.NewGraph()
	b := nn.NewBuilder(g, nil)
	const hw = 3
	a := input(g, "a", []int{1, 4, hw}, func(c, i int) float64 { return float64(10*c + i) })
	bb := input(g, "b", []int{1, 6, hw}, func(c, i int) float64 { return float64(100 + 10*c + i) })
	y := b.CatGroups(2, a, bb)
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	if got := y.Shape(); !got.Eq([]int{1, 10, hw}) {
		t.Fatalf("shape %v, want [1 10 3]", got)
	}
	runOnce(t, g)
	got := modeltest.Float64s(y.Value())
	order := []float64{0, 10, 100, 110, 120, 20, 30, 130, 140, 150} // channel bases, written out
	for c, base := range order {
		for i := 0; i < hw; i++ {
			if want := base + float64(i); got[c*hw+i] != want {
				t.Fatalf("channel %d pixel %d = %v, want %v (full output %v)", c, i, got[c*hw+i], want, got)
			}
		}
	}
}

// input returns a float64 input node of shape [1, C, P] with values f(c, p).
func input(g *G.ExprGraph, name string, shape []int, f func(c, i int) float64) *G.Node {
	v := make([]float64, shape[1]*shape[2])
	for c := 0; c < shape[1]; c++ {
		for i := 0; i < shape[2]; i++ {
			v[c*shape[2]+i] = f(c, i)
		}
	}
	return G.NewTensor(g, G.Float64, 3, G.WithShape(shape...), G.WithName(name), G.WithValue(tensorOf(shape, v)))
}

// runOnce runs g's forward pass.
func runOnce(t *testing.T, g *G.ExprGraph) {
	t.Helper()
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
}

func ExampleBuilder() {
	g := G.NewGraph()
	b := nn.NewBuilder(g, nil)
	x := G.NewTensor(g, G.Float32, 5, G.WithShape(2, 3, 4, 8, 8), G.WithName("x"))
	w := G.NewTensor(g, G.Float32, 5, G.WithShape(6, 3, 3, 3, 3), G.WithName("w"))
	defer b.Scope("core.feedforward.0")()
	y := b.AvgPool2(b.GELU(b.Conv3d(x, b.WeightStd(w, nil), nil, nn.ConvOpts{PadH: 1, PadW: 1})))
	fmt.Println(y.Shape(), b.Err())
	// A wrong shape: the error names the module, the op and the shapes; later calls do nothing.
	z := b.Conv3d(y, w, nil, nn.ConvOpts{})
	fmt.Println(z == nil, b.Add(y, y) == nil)
	fmt.Println(b.Err())
	// Output:
	// (2, 6, 4, 4, 4) <nil>
	// true true
	// core.feedforward.0: conv3d(x [2 6 4 4 4] float32, w [6 3 3 3 3] float32, bias nil): x has 6 channels, w takes 3 per group × 1 groups: shape mismatch
}
