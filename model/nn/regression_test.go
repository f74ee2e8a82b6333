package nn_test

import (
	"fmt"
	"testing"

	"github.com/fmcore/fmcore/model/modeltest"
	"github.com/fmcore/fmcore/model/nn"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Regressions of wrong values that gorgonia's own Slice/Concat and Sum/broadcasting produced
// (see copy.go): each case failed before those ops became kernel ops.

// TestCatGroupsChainGradients is the feedforward input projection and first dense block in
// miniature: y = Conv3d(x) 6×6 stride 2 with replicate padding, x1 = Conv3d(GELU(y),
// WeightStd(w1, g1)), z = CatGroups(y, x1), out = Conv3d(z, WeightStd(w2, g2)) 1×1. With a
// 16×16 input both parts of z hold 4·3·8·8 = 768 elements per sample, so the two slices of
// Concat's gradient, [0, 768) and [768, 1536), hashed alike in gorgonia (bounds taken modulo
// 256) and were merged: x1's branch received y's gradient and every parameter upstream of
// CatGroups had relative error 1. At 8×8 (192 per part) the bounds differed and it passed. The
// larger sizes run only without -short.
func TestCatGroupsChainGradients(t *testing.T) {
	for _, hw := range []int{8, 16, 24, 32} {
		if testing.Short() && hw > 16 {
			continue
		}
		t.Run(fmt.Sprintf("%dx%d", hw, hw), func(t *testing.T) {
			in := []modeltest.GradInput{{Name: "x", Shape: []int{1, 1, 3, hw, hw}, NoGrad: true},
				x("w0", 4, 1, 1, 6, 6), x("b0", 4),
				x("w1", 4, 4, 3, 3, 3), x("g1", 4), x("b1", 4),
				x("w2", 3, 8, 1, 1, 1), x("g2", 3), x("b2", 3)}
			modeltest.GradCheck(t, func(b *nn.Builder, in []*G.Node) *G.Node {
				y := b.Conv3d(in[0], in[1], in[2], nn.ConvOpts{StrideH: 2, StrideW: 2, PadH: 2, PadW: 2, Replicate: true})
				x1 := b.Conv3d(b.GELU(y), b.WeightStd(in[3], in[4]), in[5], nn.ConvOpts{PadH: 1, PadW: 1})
				z := b.CatGroups(1, y, x1)
				return b.Conv3d(z, b.WeightStd(in[6], in[7]), in[8], nn.ConvOpts{})
			}, in, 1)
		})
	}
}

// regressionCases are small graphs on each of the replaced operations at the shapes where
// gorgonia's versions went wrong (every case but mean-all and broadcastdiv-scalar-like failed
// with them), and edge cases of the replacements.
func regressionCases() []opCase {
	return []opCase{
		// Concat's gradient slices [0, 256) and [256, 512) along axis 1 were one node.
		{"concat-parts-of-256", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.Concat(1, b.Square(in[0]), in[1])
		}, []modeltest.GradInput{x("a", 1, 256), x("b", 1, 256)}},
		// CatGroups with 2 groups of 256-element chunks: the gradient slices [0, 256) and
		// [256, 512) of the grouped concatenation were one node.
		{"catgroups-chunks-of-256", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.CatGroups(2, b.Square(in[0]), in[1])
		}, []modeltest.GradInput{x("a", 1, 2, 256), x("b", 1, 2, 256)}},
		// The readout (MODEL.md 4.6): features [N, C, T, U] ⊙ w [1, C, 1, U], summed over C. The
		// gradient of w summed over axes 0 and 2 of a rank-4 tensor, which tensor.Sum gets wrong.
		{"broadcastmul-readout", func(b *nn.Builder, in []*G.Node) *G.Node {
			w := b.Reshape(b.Transpose(in[1], 1, 0), 1, 8, 1, 5)
			return b.Sum(b.BroadcastMul(in[0], w, nil, []byte{0, 2}), 1)
		}, []modeltest.GradInput{x("feat", 2, 8, 3, 5), x("features", 5, 8)}},
		// Sums and means over middle axes of rank 4 and 5, and over everything.
		{"sum-rank4-axis2", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.Sum(b.Square(in[0]), 2)
		}, []modeltest.GradInput{x("x", 2, 3, 4, 5)}},
		{"mean-rank5-axes23", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.Mean(b.Square(in[0]), 2, 3)
		}, []modeltest.GradInput{x("x", 2, 3, 4, 5, 2)}},
		{"mean-all", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.Mean(b.Square(in[0]))
		}, []modeltest.GradInput{x("x", 2, 3, 4, 5)}},
		// Broadcasting of both operands, and a broadcast axis of size 1 on both sides.
		{"broadcastsub-both-sides", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.BroadcastSub(in[0], in[1], []byte{2}, []byte{0, 3})
		}, []modeltest.GradInput{x("a", 2, 3, 1, 4, 1), x("b", 1, 3, 5, 1, 1)}},
		{"broadcastdiv-scalar-like", func(b *nn.Builder, in []*G.Node) *G.Node {
			return b.BroadcastDiv(in[0], b.Exp(in[1]), nil, []byte{0, 1})
		}, []modeltest.GradInput{x("a", 3, 4), x("s", 1, 1)}},
	}
}

func TestRegressionGradients(t *testing.T) {
	for i, tc := range regressionCases() {
		t.Run(tc.name, func(t *testing.T) {
			modeltest.GradCheck(t, tc.build, tc.inputs, uint64(200+i))
		})
	}
}

// TestSlicesAreDistinct checks the forward values of slices whose bounds agree modulo 256:
// frames t and t+256 of a sequence, and the two halves of a 1536-element axis (gorgonia
// returned the first slice for both). A gradient check cannot see this: finite differences run
// the same merged graph.
func TestSlicesAreDistinct(t *testing.T) {
	g := G.NewGraph()
	b := nn.NewBuilder(g, nil)
	v := make([]float64, 2*1536)
	for i := range v {
		v[i] = float64(i)
	}
	xn := G.NewTensor(g, G.Float64, 2, G.WithShape(2, 1536), G.WithName("x"), G.WithValue(tensorOf([]int{2, 1536}, v)))
	slices := []struct {
		node       *G.Node
		start, end int
	}{
		{b.Slice(xn, 1, 0, 768), 0, 768},
		{b.Slice(xn, 1, 768, 1536), 768, 1536},
		{b.Slice(xn, 1, 5, 6), 5, 6},
		{b.Slice(xn, 1, 261, 262), 261, 262},
	}
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	runOnce(t, g)
	for _, s := range slices {
		got := modeltest.Float64s(s.node.Value())
		n := s.end - s.start
		for r := range 2 {
			for j := range n {
				if want := float64(r*1536 + s.start + j); got[r*n+j] != want {
					t.Fatalf("slice [%d, %d): element (%d, %d) = %v, want %v", s.start, s.end, r, j, got[r*n+j], want)
				}
			}
		}
	}
}

// TestBroadcastLeavesInputsAlone guards against memory aliasing: it runs a broadcast whose
// repeat count is 1 (batch 1) into an elementwise op that gorgonia may run in place, twice, and
// checks that neither the parameter nor the result changes. An op returning its input's memory
// (as gorgonia's Reshape does) would let the in-place add write into the bias.
func TestBroadcastLeavesInputsAlone(t *testing.T) {
	g := G.NewGraph()
	b := nn.NewBuilder(g, nil)
	bias := G.NewTensor(g, G.Float64, 2, G.WithShape(1, 3), G.WithName("bias"), G.WithValue(tensorOf([]int{1, 3}, []float64{1, 2, 3})))
	y := G.NewTensor(g, G.Float64, 2, G.WithShape(1, 3), G.WithName("y"), G.WithValue(tensorOf([]int{1, 3}, []float64{10, 20, 30})))
	z := b.Relu(b.BroadcastAdd(bias, y, []byte{0}, nil))
	sum := b.Sum(z)
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	for run := range 2 {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		if got := sum.Value().Data().(float64); got != 66 {
			t.Errorf("run %d: sum %v, want 66", run, got)
		}
		if got := bias.Value().Data().([]float64); got[0] != 1 || got[1] != 2 || got[2] != 3 {
			t.Errorf("run %d: bias became %v", run, got)
		}
	}
}

// TestSumShapes checks the shapes Sum and Mean return: the summed axes removed, a scalar for
// all of them.
func TestSumShapes(t *testing.T) {
	g := G.NewGraph()
	b := nn.NewBuilder(g, nil)
	xn := G.NewTensor(g, G.Float32, 4, G.WithShape(2, 3, 4, 5), G.WithName("x"))
	for _, tc := range []struct {
		got  *G.Node
		want tensor.Shape
	}{
		{b.Sum(xn, 2), tensor.Shape{2, 3, 5}},
		{b.Mean(xn, 0, 3), tensor.Shape{3, 4}},
		{b.Sum(xn), tensor.ScalarShape()},
		{b.Mean(xn, 0, 1, 2, 3), tensor.ScalarShape()},
	} {
		if err := b.Err(); err != nil {
			t.Fatal(err)
		}
		if !tc.got.Shape().Eq(tc.want) || tc.got.Dims() != tc.want.Dims() {
			t.Errorf("shape %v, want %v", tc.got.Shape(), tc.want)
		}
	}
}
