package nn_test

import (
	"testing"

	"github.com/fmcore/fmcore/internal/kernels"
	"github.com/fmcore/fmcore/model/nn"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BenchmarkConv3dOp compares one convolution's forward and backward pass (dx, dw, dbias) run as
// the Conv3d op inside a TapeMachine with the same kernel calls made directly, at the sizes of
// internal/kernels' benchmarks, float32. The graph gets dy as an input (G.Backpropagate), so it
// holds exactly the four kernel ops; the difference is the op machinery: gorgonia's dispatch,
// fresh output tensors every run (Reset drops them, TOOLCHAIN.md 2.6) and the dual-value
// bookkeeping of BindDualValues. Run:
//
//	go test ./model/nn -run xxx -bench Conv3dOp -benchtime 10x
func BenchmarkConv3dOp(b *testing.B) {
	for _, tc := range []struct {
		name string
		p    kernels.Conv3d
	}{
		{"conv2d-N8-16to32-64x64-3x3", kernels.Conv3d{N: 8, C: 16, O: 32, G: 1, T: 1, H: 64, W: 64, KT: 1, KH: 3, KW: 3, PadH: 1, PadW: 1}},
		{"recurrent-N4-512to512-G8-16x24-3x3", kernels.Conv3d{N: 4, C: 512, O: 512, G: 8, T: 1, H: 16, W: 24, KT: 1, KH: 3, KW: 3, PadH: 1, PadW: 1}},
	} {
		p := tc.p
		xl, wl, yl := p.Lens()
		to, ho, wo := p.OutShape()
		xs, wsh, ys := []int{p.N, p.C, p.T, p.H, p.W}, []int{p.O, p.C / p.G, p.KT, p.KH, p.KW}, []int{p.N, p.O, to, ho, wo}
		x, w, bias, dy := rand32(1, xl), rand32(2, wl), rand32(3, p.O), rand32(4, yl)
		ws := kernels.NewWorkspace(0)
		b.Run(tc.name+"/kernels", func(b *testing.B) {
			y, dx, dw, db := make([]float32, yl), make([]float32, xl), make([]float32, wl), make([]float32, p.O)
			for b.Loop() {
				if err := kernels.Conv3dForward(p, ws, x, w, bias, y); err != nil {
					b.Fatal(err)
				}
				if err := kernels.Conv3dBackwardData(p, ws, w, dy, dx); err != nil {
					b.Fatal(err)
				}
				if err := kernels.Conv3dBackwardWeights(p, ws, x, dy, dw, db); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/tapemachine", func(b *testing.B) {
			g := G.NewGraph()
			bl := nn.NewBuilder(g, ws)
			in := func(name string, shape []int, v []float32) *G.Node {
				return G.NewTensor(g, G.Float32, len(shape), G.WithShape(shape...), G.WithName(name),
					G.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))))
			}
			xn, wn, bn, dyn := in("x", xs, x), in("w", wsh, w), in("bias", []int{p.O}, bias), in("dy", ys, dy)
			y := bl.Conv3d(xn, wn, bn, nn.ConvOpts{Groups: p.G, PadH: p.PadH, PadW: p.PadW})
			if err := bl.Err(); err != nil {
				b.Fatal(err)
			}
			if _, err := G.Backpropagate(G.Nodes{y}, G.Nodes{dyn}, G.Nodes{xn, wn, bn}); err != nil {
				b.Fatal(err)
			}
			vm := G.NewTapeMachine(g, G.BindDualValues(xn, wn, bn))
			defer vm.Close()
			for b.Loop() {
				vm.Reset()
				if err := vm.RunAll(); err != nil {
					b.Fatal(err)
				}
				if err := nn.ZeroGrads([]*G.Node{xn, wn, bn}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// rand32 returns n float32 values uniform in [−1, 1).
func rand32(seed uint64, n int) []float32 {
	v := uniform(seed, n, -1, 1)
	out := make([]float32, n)
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// BenchmarkTensorOps times the forward and backward pass of the tensor operations that are
// fmcore kernel ops rather than gorgonia's (CatGroups, a broadcast weight, Sum over channels,
// Slice), float32, at a feedforward block's size: two [4, 16, 8, 32, 32] maps. Run:
//
//	go test ./model/nn -run xxx -bench TensorOps -benchtime 20x
func BenchmarkTensorOps(b *testing.B) {
	g := G.NewGraph()
	bl := nn.NewBuilder(g, nil)
	shape := []int{4, 16, 8, 32, 32}
	n := 4 * 16 * 8 * 32 * 32
	in := func(name string, shape []int, v []float32) *G.Node {
		return G.NewTensor(g, G.Float32, len(shape), G.WithShape(shape...), G.WithName(name),
			G.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))))
	}
	x1, x2, w := in("x1", shape, rand32(1, n)), in("x2", shape, rand32(2, n)), in("w", []int{1, 32, 1, 1, 1}, rand32(3, 32))
	z := bl.CatGroups(2, x1, x2)
	y := bl.Sum(bl.BroadcastMul(z, w, nil, []byte{0, 2, 3, 4}), 1)
	loss := bl.Add(bl.Sum(bl.Slice(y, 1, 2, 6)), bl.Sum(y))
	if err := bl.Err(); err != nil {
		b.Fatal(err)
	}
	learn := G.Nodes{x1, x2, w}
	if _, err := G.Grad(loss, learn...); err != nil {
		b.Fatal(err)
	}
	vm := G.NewTapeMachine(g, G.BindDualValues(learn...))
	defer vm.Close()
	for b.Loop() {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			b.Fatal(err)
		}
		if err := nn.ZeroGrads(learn); err != nil {
			b.Fatal(err)
		}
	}
}
