package nn

import (
	"fmt"

	"github.com/fmcore/fmcore/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// LSTM returns the fused LSTM update (MODEL.md 4.2, 4.4 step 6; kernels.LSTMCell) on
// pre-activation gates in the grouped layout a grouped convolution produces, gate order i, f,
// g, o inside each of the G groups:
//
//	gates  [N, G, 4, Hd/G, P]
//	cPrev  [N, Hd, P], or nil for the zero initial state
//	c, h   [N, Hd, P]             c = σ(f)·cPrev + σ(i)·tanh(g), h = σ(o)·tanh(c)
//
// P is H·W for the recurrent core and 1 for the modulation LSTM. One kernel call computes both
// results (and, backwards, both input gradients).
func (b *Builder) LSTM(gates, cPrev *G.Node, groups int) (c, h *G.Node) {
	out := b.stepN("lstm", []arg{need("gates", gates), maybe("cPrev", cPrev)}, func() ([]*G.Node, error) {
		gs := gates.Shape()
		if len(gs) != 5 || gs[1] != groups || gs[2] != 4 {
			return nil, shapeErr("gates must be [N, G=%d, 4, Hd/G, P]", groups)
		}
		l := kernels.LSTMCell{N: gs[0], G: groups, Hd: groups * gs[3], P: gs[4]}
		if err := l.Validate(); err != nil {
			return nil, kernelShapeErr{err}
		}
		state := tensor.Shape{l.N, l.Hd, l.P}
		inputs := []*G.Node{gates}
		if cPrev != nil {
			if !sameShape(cPrev.Shape(), state) {
				return nil, shapeErr("cPrev must be %v", []int(state))
			}
			inputs = append(inputs, cPrev)
		}
		return b.kernelPacked(kernelSpec{
			name: "lstm", params: fmt.Sprintf("%+v", l),
			run32: lstmForward[float32](l), run64: lstmForward[float64](l),
			grad: lstmGrad(l),
		}, []tensor.Shape{state, state}, nil, inputs...)
	})
	if out == nil {
		return nil, nil
	}
	return out[0], out[1]
}

// lstmForward writes c then h into the packed output.
func lstmForward[T kernels.Float](l kernels.LSTMCell) runFn[T] {
	return func(ws *kernels.Workspace, in [][]T, out []T) error {
		var cPrev []T
		if len(in) == 2 {
			cPrev = in[1]
		}
		n := l.N * l.Hd * l.P
		p := splitParts(out, n, n)
		return kernels.LSTMCellForward(l, ws, in[0], cPrev, p[0], p[1])
	}
}

// lstmGrad builds dgates (and dcPrev) with one kernel call, lstm.grad(gates, [cPrev,] dy), dy
// being the packed gradient of (c, h).
func lstmGrad(l kernels.LSTMCell) gradFn {
	return func(b *Builder, ins []*G.Node, _, dy *G.Node, wrt []bool) []*G.Node {
		args := []arg{need("gates", ins[0])}
		parts := []tensor.Shape{ins[0].Shape()}
		if len(ins) == 2 {
			args = append(args, need("cPrev", ins[1]))
			parts = append(parts, ins[1].Shape())
		}
		args = append(args, need("dy", dy))
		inputs := append(append([]*G.Node(nil), ins...), dy)
		return b.stepN("lstm.grad", args, func() ([]*G.Node, error) {
			return b.kernelPacked(kernelSpec{name: "lstm.grad", params: fmt.Sprintf("%+v", l),
				run32: lstmBackward[float32](l), run64: lstmBackward[float64](l)}, parts, wrt, inputs...)
		})
	}
}

// lstmBackward reads the packed (dc, dh) and writes dgates then dcPrev.
func lstmBackward[T kernels.Float](l kernels.LSTMCell) runFn[T] {
	return func(ws *kernels.Workspace, in [][]T, out []T) error {
		n := l.N * l.Hd * l.P
		gates, dy := in[0], in[len(in)-1]
		d := splitParts(dy, n, n)
		if len(in) == 2 {
			return kernels.LSTMCellBackward(l, ws, gates, nil, d[1], d[0], out, nil)
		}
		p := splitParts(out, 4*n, n)
		return kernels.LSTMCellBackward(l, ws, gates, in[1], d[1], d[0], p[0], p[1])
	}
}

// Attention returns the CvT-LSTM's cosine attention (MODEL.md 4.4 step 5; kernels.Attention),
// separately for every batch item and group over L tokens of C channels:
//
//	q, k, v  [N, G, C, L]
//	scales   [G, C]
//	out      [N, G, C, L]    out[c, i] = Σ_d v[c, d]·softmax_d(Σ_c' q̂[c', i]·s[c']·k̂[c', d])
//
// with q̂, k̂ the unit vectors over C of each token (a zero token's is zero).
func (b *Builder) Attention(q, k, v, scales *G.Node) *G.Node {
	return b.step("attention", []arg{need("q", q), need("k", k), need("v", v), need("scales", scales)}, func() (*G.Node, error) {
		qs := q.Shape()
		if len(qs) != 4 || !sameShape(k.Shape(), qs) || !sameShape(v.Shape(), qs) {
			return nil, shapeErr("q, k and v must all be [N, G, C, L]")
		}
		a := kernels.Attention{N: qs[0], G: qs[1], C: qs[2], L: qs[3]}
		if !sameShape(scales.Shape(), tensor.Shape{a.G, a.C}) {
			return nil, shapeErr("scales must be [G, C] = [%d %d]", a.G, a.C)
		}
		if err := a.Validate(); err != nil {
			return nil, kernelShapeErr{err}
		}
		return b.kernel(kernelSpec{
			name: "attention", params: fmt.Sprintf("%+v", a), out: qs,
			run32: attnForward[float32](a), run64: attnForward[float64](a),
			grad: attnGrad(a),
		}, q, k, v, scales)
	})
}

func attnForward[T kernels.Float](a kernels.Attention) runFn[T] {
	return func(ws *kernels.Workspace, in [][]T, out []T) error {
		return kernels.AttentionForward(a, ws, in[0], in[1], in[2], in[3], out)
	}
}

// attnGrad builds dq, dk, dv and dscales with one kernel call, attention.grad(q, k, v, scales, dy).
func attnGrad(a kernels.Attention) gradFn {
	return func(b *Builder, ins []*G.Node, _, dy *G.Node, wrt []bool) []*G.Node {
		args := []arg{need("q", ins[0]), need("k", ins[1]), need("v", ins[2]), need("scales", ins[3]), need("dy", dy)}
		parts := []tensor.Shape{ins[0].Shape(), ins[1].Shape(), ins[2].Shape(), ins[3].Shape()}
		inputs := append(append([]*G.Node(nil), ins...), dy)
		return b.stepN("attention.grad", args, func() ([]*G.Node, error) {
			return b.kernelPacked(kernelSpec{name: "attention.grad", params: fmt.Sprintf("%+v", a),
				run32: attnBackward[float32](a), run64: attnBackward[float64](a)}, parts, wrt, inputs...)
		})
	}
}

func attnBackward[T kernels.Float](a kernels.Attention) runFn[T] {
	return func(ws *kernels.Workspace, in [][]T, out []T) error {
		n := a.N * a.G * a.C * a.L
		p := splitParts(out, n, n, n, a.G*a.C)
		return kernels.AttentionBackward(a, ws, in[0], in[1], in[2], in[3], in[4], p[0], p[1], p[2], p[3])
	}
}
