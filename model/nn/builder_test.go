package nn_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/fmcore/fmcore/model/modeltest"
	"github.com/fmcore/fmcore/model/nn"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// node returns a float64 input node of the given shape with values uniform in [−1, 1).
func node(g *G.ExprGraph, name string, seed uint64, shape ...int) *G.Node {
	v := uniform(seed, tensor.Shape(shape).TotalSize(), -1, 1)
	return G.NewTensor(g, G.Float64, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(tensorOf(shape, v)))
}

// TestBuilderErrors checks that wrong shapes give an *OpError wrapping ErrShape, naming the
// module path, the op and the input shapes, never a panic; and that the error is sticky.
func TestBuilderErrors(t *testing.T) {
	cases := []struct {
		name, op, shapes string
		build            func(b *nn.Builder, g *G.ExprGraph) *G.Node
	}{
		{"conv3d channels", "conv3d", "x [1 3 2 4 4]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			return b.Conv3d(node(g, "x", 1, 1, 3, 2, 4, 4), node(g, "w", 2, 2, 2, 1, 3, 3), nil, nn.ConvOpts{})
		}},
		{"conv3d 4-D input", "conv3d", "x [1 3 4 4]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			return b.Conv3d(node(g, "x", 1, 1, 3, 4, 4), node(g, "w", 2, 2, 3, 1, 3, 3), nil, nn.ConvOpts{})
		}},
		{"conv3d kernel too large", "conv3d", "w [2 3 1 5 5]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			return b.Conv3d(node(g, "x", 1, 1, 3, 2, 4, 4), node(g, "w", 2, 2, 3, 1, 5, 5), nil, nn.ConvOpts{})
		}},
		{"conv3d bias", "conv3d", "bias [3]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			return b.Conv3d(node(g, "x", 1, 1, 3, 2, 4, 4), node(g, "w", 2, 2, 3, 1, 3, 3), node(g, "bias", 3, 3), nn.ConvOpts{PadH: 1, PadW: 1})
		}},
		{"conv3d nil weight", "conv3d", "w nil", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			return b.Conv3d(node(g, "x", 1, 1, 3, 2, 4, 4), nil, nil, nn.ConvOpts{})
		}},
		{"weightstd gain", "weightstd", "gain [3]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			return b.WeightStd(node(g, "w", 1, 4, 6), node(g, "gain", 2, 3))
		}},
		{"avgpool2 too small", "avgpool2", "x [2 1 3]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			return b.AvgPool2(node(g, "x", 1, 2, 1, 3))
		}},
		{"gridsample grid", "gridsample", "grid [2 5 3]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			return b.GridSample(node(g, "img", 1, 2, 1, 3, 3), node(g, "grid", 2, 2, 5, 3), true)
		}},
		{"attention scales", "attention", "scales [2 4]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			q := node(g, "q", 1, 1, 2, 3, 5)
			return b.Attention(q, q, q, node(g, "scales", 2, 2, 4))
		}},
		{"lstm groups", "lstm", "gates [1 2 4 3 5]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			c, _ := b.LSTM(node(g, "gates", 1, 1, 2, 4, 3, 5), nil, 3)
			return c
		}},
		{"lstm state", "lstm", "cPrev [1 6 4]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			c, _ := b.LSTM(node(g, "gates", 1, 1, 2, 4, 3, 5), node(g, "c", 2, 1, 6, 4), 2)
			return c
		}},
		{"poisson", "poisson", "target [3 2]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			return b.PoissonLoss(node(g, "r", 1, 2, 3), node(g, "target", 2, 3, 2))
		}},
		{"add", "add", "y [3 2]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			return b.Add(node(g, "x", 1, 2, 3), node(g, "y", 2, 3, 2))
		}},
		{"broadcast size", "broadcastadd", "y [1 4 1]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			return b.BroadcastAdd(node(g, "x", 1, 2, 3, 5), node(g, "y", 2, 1, 4, 1), nil, []byte{0, 2})
		}},
		{"matmul", "matmul", "y [4 2]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			return b.MatMul(node(g, "x", 1, 2, 3), node(g, "y", 2, 4, 2))
		}},
		{"reshape", "reshape", "x [2 3]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			return b.Reshape(node(g, "x", 1, 2, 3), 4, 2)
		}},
		{"transpose", "transpose", "x [2 3]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			return b.Transpose(node(g, "x", 1, 2, 3), 0, 0)
		}},
		{"slice", "slice", "x [2 3]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			return b.Slice(node(g, "x", 1, 2, 3), 1, 2, 4)
		}},
		{"concat", "concat", "x1 [3 2]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			return b.Concat(0, node(g, "x", 1, 2, 3), node(g, "y", 2, 3, 2))
		}},
		{"catgroups", "catgroups", "x1 [1 3 2]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			return b.CatGroups(2, node(g, "x", 1, 1, 4, 2), node(g, "y", 2, 1, 3, 2))
		}},
		{"sum axis", "sum", "x [2 3]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			return b.Sum(node(g, "x", 1, 2, 3), 2)
		}},
		{"act", "act", "x [2 3]", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			return b.Act(node(g, "x", 1, 2, 3), "relu6")
		}},
		{"mixed dtypes", "add", "y [2 3] float32", func(b *nn.Builder, g *G.ExprGraph) *G.Node {
			y := G.NewTensor(g, G.Float32, 2, G.WithShape(2, 3), G.WithName("y"))
			return b.Add(node(g, "x", 1, 2, 3), y)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := G.NewGraph()
			b := nn.NewBuilder(g, nil)
			restore := b.Scope("core.test")
			out := tc.build(b, g)
			restore()
			err := b.Err()
			var oe *nn.OpError
			if out != nil || !errors.As(err, &oe) {
				t.Fatalf("got node %v and error %v, want nil and an *OpError", out, err)
			}
			msg := err.Error()
			if oe.Op != tc.op || oe.Path != "core.test" || !strings.Contains(msg, tc.shapes) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want op %q, path core.test and %q on one line", msg, tc.op, tc.shapes)
			}
			if tc.name != "act" && !errors.Is(err, nn.ErrShape) {
				t.Errorf("error %q does not wrap ErrShape", msg)
			}
			// Sticky: later calls build nothing and keep the first error.
			if y := b.GELU(node(g, "z", 9, 2)); y != nil || b.Err() != err {
				t.Errorf("after an error GELU returned %v and Err %v", y, b.Err())
			}
			t.Log(msg)
		})
	}
}

// machine builds a small network of every kernel op (and some wrappers) in float64 with its
// loss gradients, for the lifecycle tests.
func machine(t *testing.T) (vm G.VM, loss *G.Node, outs, params []*G.Node) {
	t.Helper()
	g := G.NewGraph()
	b := nn.NewBuilder(g, nil)
	x := node(g, "x", 1, 2, 4, 3, 4, 4)
	w := node(g, "w", 2, 8, 2, 2, 3, 3)
	gain := node(g, "gain", 3, 8)
	grid := node(g, "grid", 4, 2, 6, 2)
	scales := node(g, "scales", 5, 2, 4)
	target := node(g, "target", 6, 2, 4, 3)
	b.NoGrad(x, target)
	y := b.GELU(b.Conv3d(x, b.WeightStd(w, gain), nil, nn.ConvOpts{Groups: 2, PadH: 1, PadW: 1}))
	p := b.AvgPool2(y)                                // [2 8 3 2 2]
	qkv := b.Reshape(b.Slice(p, 2, 2, 3), 2, 2, 4, 4) // [N G C L]
	a := b.Attention(qkv, b.Scale(qkv, 0.5), qkv, scales)
	img := b.Reshape(a, 2, 8, 2, 2)
	s := b.GridSample(img, grid, true) // [2 8 6]
	c, h := b.LSTM(b.Reshape(s, 2, 2, 4, 1, 6), nil, 2)
	r := b.Add(c, h) // [2 2 6]
	loss = b.PoissonLoss(b.Reshape(r, 2, 4, 3), target)
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	params = []*G.Node{w, gain, grid, scales}
	if _, err := G.Grad(loss, params...); err != nil {
		t.Fatal(err)
	}
	return G.NewTapeMachine(g, G.BindDualValues(params...)), loss, []*G.Node{loss, y, a, s, c, h}, params
}

// TestResetRerunsIdentically checks that a compiled machine run twice with Reset gives the same
// outputs bit for bit (no op keeps state between runs), that gradients accumulate without
// ZeroGrads (TOOLCHAIN.md 2.3), and that after ZeroGrads they equal the first run's.
func TestResetRerunsIdentically(t *testing.T) {
	vm, _, outs, params := machine(t)
	defer vm.Close()
	run := func() (vals, grads [][]float64) {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		for _, n := range outs {
			vals = append(vals, modeltest.Float64s(n.Value()))
		}
		for _, p := range params {
			gv, err := p.Grad()
			if err != nil {
				t.Fatal(err)
			}
			grads = append(grads, modeltest.Float64s(gv))
		}
		return vals, grads
	}
	v1, g1 := run()
	v2, g2 := run()
	for i := range v1 {
		for j := range v1[i] {
			if v1[i][j] != v2[i][j] {
				t.Fatalf("output %s element %d: %v then %v", outs[i].Name(), j, v1[i][j], v2[i][j])
			}
		}
	}
	for i := range g1 {
		for j := range g1[i] {
			if g2[i][j] != 2*g1[i][j] && g1[i][j] != 0 {
				t.Fatalf("without ZeroGrads %s's gradient went %v → %v, want it doubled", params[i].Name(), g1[i][j], g2[i][j])
			}
		}
	}
	if err := nn.ZeroGrads(params); err != nil {
		t.Fatal(err)
	}
	for _, p := range params {
		gv, _ := p.Grad()
		for _, v := range modeltest.Float64s(gv) {
			if v != 0 {
				t.Fatalf("%s: gradient %v after ZeroGrads", p.Name(), v)
			}
		}
	}
	_, g3 := run()
	for i := range g1 {
		for j := range g1[i] {
			// Same operations on the same values: bit-identical, no tolerance.
			if g3[i][j] != g1[i][j] {
				t.Fatalf("after ZeroGrads %s's gradient %d is %v, first run %v", params[i].Name(), j, g3[i][j], g1[i][j])
			}
		}
	}
}

// TestNoGradBuildsNoGradientOps checks that a kernel op builds no gradient towards a NoGrad
// input: the first convolution of a stimulus gets no conv3d.dx, and asking for it fails.
func TestNoGradBuildsNoGradientOps(t *testing.T) {
	for _, mark := range []bool{false, true} {
		g := G.NewGraph()
		b := nn.NewBuilder(g, nil)
		x, w := node(g, "x", 1, 1, 2, 2, 4, 4), node(g, "w", 2, 3, 2, 1, 3, 3)
		if mark {
			b.NoGrad(x)
		}
		loss := b.Sum(b.GELU(b.Conv3d(b.Scale(x, 2), w, nil, nn.ConvOpts{PadH: 1, PadW: 1})))
		if _, err := G.Grad(loss, w); err != nil {
			t.Fatal(err)
		}
		var dx bool
		for _, n := range g.AllNodes() {
			if n.Op() != nil && strings.HasPrefix(n.Op().String(), "conv3d.dx") {
				dx = true
			}
		}
		if dx == mark {
			t.Errorf("NoGrad %v: conv3d.dx in graph %v", mark, dx)
		}
		if _, err := G.Grad(loss, x); mark && err == nil {
			t.Errorf("gradient towards a NoGrad input: want an error")
		}
	}
}

// TestReshapeIsSafeAndFree checks the replacement of gorgonia's Reshape (see reshapeOp): an
// in-place consumer of a reshaped input must not write into the input, and a reshape of a node
// nothing else reads shares its memory instead of copying.
func TestReshapeIsSafeAndFree(t *testing.T) {
	g := G.NewGraph()
	b := nn.NewBuilder(g, nil)
	x := node(g, "x", 1, 2, 3)
	before := modeltest.Float64s(x.Value())
	sum := b.Add(b.Reshape(x, 3, 2), b.Constant(1, x)) // Add may overwrite its first input
	y := b.GELU(x)
	r := b.Reshape(y, 6)
	out := b.Sum(r)
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	for run := 0; run < 2; run++ {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
	}
	after := modeltest.Float64s(x.Value())
	for i := range before {
		if after[i] != before[i] {
			t.Fatalf("x changed by running the graph: %v → %v", before, after)
		}
	}
	if got := modeltest.Float64s(sum.Value()); got[0] != before[0]+1 {
		t.Errorf("reshape + 1 = %v, want %v", got[0], before[0]+1)
	}
	if &y.Value().Data().([]float64)[0] != &r.Value().Data().([]float64)[0] {
		t.Errorf("reshape of a node read by nothing else copied it")
	}
	if v := modeltest.Float64s(out.Value())[0]; math.IsNaN(v) {
		t.Errorf("sum %v", v)
	}
}

// TestOpHashKeepsParameters checks that ops differing only in a parameter are not merged by
// gorgonia's hash-consing (TOOLCHAIN.md 2.7): same inputs, zeros vs replicate padding and zeros
// vs border sampling, give different results.
func TestOpHashKeepsParameters(t *testing.T) {
	g := G.NewGraph()
	b := nn.NewBuilder(g, nil)
	x, w := node(g, "x", 1, 1, 1, 1, 4, 4), node(g, "w", 2, 1, 1, 1, 3, 3)
	zeros := b.Conv3d(x, w, nil, nn.ConvOpts{PadH: 1, PadW: 1})
	repl := b.Conv3d(x, w, nil, nn.ConvOpts{PadH: 1, PadW: 1, Replicate: true})
	img, grid := node(g, "img", 3, 1, 1, 3, 3), node(g, "grid", 4, 1, 2, 2)
	sz, sb := b.GridSample(img, b.Scale(grid, 3), false), b.GridSample(img, b.Scale(grid, 3), true)
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	if zeros == repl || sz == sb {
		t.Fatal("different ops merged into one node")
	}
	runOnce(t, g)
	for _, pair := range [][2]*G.Node{{zeros, repl}, {sz, sb}} {
		a, c := modeltest.Float64s(pair[0].Value()), modeltest.Float64s(pair[1].Value())
		same := true
		for i := range a {
			same = same && a[i] == c[i]
		}
		if same {
			t.Errorf("%v and %v computed the same values", pair[0].Op(), pair[1].Op())
		}
	}
}
