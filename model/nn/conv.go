package nn

import (
	"fmt"

	"github.com/fmcore/fmcore/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ConvOpts are the settings of a Conv3d beyond its weight's shape. The zero value is one group,
// stride 1, no padding, causal time.
type ConvOpts struct {
	Groups           int  // groups of input and output channels; 0 means 1
	StrideH, StrideW int  // spatial strides; 0 means 1
	PadH, PadW       int  // spatial padding on each side
	Replicate        bool // pad with the edge pixels instead of zeros (feedforward input projection 0, MODEL.md 4.3)
	// Valid pads no frames in time, so T_out = T − KT + 1: the streaming step, which keeps its
	// own history (MODEL.md 1.1). The default is causal: KT − 1 zero frames in front, T_out = T.
	Valid bool
}

// Conv3d returns the grouped 3-D convolution of x with w, plus bias when it is not nil (MODEL.md
// 1.5, 4.3; kernels.Conv3d):
//
//	x    [N, C, T, H, W]
//	w    [O, C/G, KT, KH, KW]   the reference's storage order; tap k of KT multiplies frame t−(KT−1)+k
//	bias [O] or nil
//	out  [N, O, To, Ho, Wo]     To = T (causal) or T−KT+1 (valid), Ho = (H+2·PadH−KH)/StrideH+1
//
// A 2-D convolution is the case T = KT = 1 and a Linear the case H = W = KT = KH = KW = 1.
func (b *Builder) Conv3d(x, w, bias *G.Node, o ConvOpts) *G.Node {
	return b.step("conv3d", []arg{need("x", x), need("w", w), maybe("bias", bias)}, func() (*G.Node, error) {
		p, err := convParams(x.Shape(), w.Shape(), bias, o)
		if err != nil {
			return nil, err
		}
		to, ho, wo := p.OutShape()
		inputs := []*G.Node{x, w}
		if bias != nil {
			inputs = append(inputs, bias)
		}
		return b.kernel(kernelSpec{
			name: "conv3d", params: convString(p), out: tensor.Shape{p.N, p.O, to, ho, wo},
			run32: convForward[float32](p), run64: convForward[float64](p),
			grad: convGrad(p),
		}, inputs...)
	})
}

// convParams checks the shapes of a convolution and returns its kernel descriptor.
func convParams(xs, wsh tensor.Shape, bias *G.Node, o ConvOpts) (kernels.Conv3d, error) {
	if len(xs) != 5 || len(wsh) != 5 {
		return kernels.Conv3d{}, shapeErr("x and w must be 5-D, [N, C, T, H, W] and [O, C/G, KT, KH, KW]")
	}
	g := max(1, o.Groups)
	if wsh[1]*g != xs[1] {
		return kernels.Conv3d{}, shapeErr("x has %d channels, w takes %d per group × %d groups", xs[1], wsh[1], g)
	}
	if bias != nil && !sameShape(bias.Shape(), tensor.Shape{wsh[0]}) {
		return kernels.Conv3d{}, shapeErr("bias has shape %v, want [%d]", []int(bias.Shape()), wsh[0])
	}
	p := kernels.Conv3d{
		N: xs[0], C: xs[1], O: wsh[0], G: g, T: xs[2], H: xs[3], W: xs[4],
		KT: wsh[2], KH: wsh[3], KW: wsh[4],
		StrideH: o.StrideH, StrideW: o.StrideW, PadH: o.PadH, PadW: o.PadW,
	}
	if o.Replicate {
		p.Pad = kernels.PadReplicate
	}
	if o.Valid {
		p.Time = kernels.TimeValid
	}
	if err := p.Validate(); err != nil {
		return kernels.Conv3d{}, kernelShapeErr{err}
	}
	return p, nil
}

// convString formats every field of p for the op hash.
func convString(p kernels.Conv3d) string { return fmt.Sprintf("%+v", p) }

func convForward[T kernels.Float](p kernels.Conv3d) runFn[T] {
	return func(ws *kernels.Workspace, in [][]T, out []T) error {
		var bias []T
		if len(in) == 3 {
			bias = in[2]
		}
		return kernels.Conv3dForward(p, ws, in[0], in[1], bias, out)
	}
}

// convGrad builds dx = conv3d.dx(w, dy), dw = conv3d.dw(x, dy) and dbias = conv3d.db(dy).
func convGrad(p kernels.Conv3d) gradFn {
	return func(b *Builder, ins []*G.Node, _, dy *G.Node, wrt []bool) []*G.Node {
		x, w := ins[0], ins[1]
		out := make([]*G.Node, len(ins))
		params := convString(p)
		if wrt[0] {
			out[0] = b.step("conv3d.dx", []arg{need("w", w), need("dy", dy)}, func() (*G.Node, error) {
				return b.kernel(kernelSpec{name: "conv3d.dx", params: params, out: x.Shape(),
					run32: convData[float32](p), run64: convData[float64](p)}, w, dy)
			})
		}
		if wrt[1] {
			out[1] = b.step("conv3d.dw", []arg{need("x", x), need("dy", dy)}, func() (*G.Node, error) {
				return b.kernel(kernelSpec{name: "conv3d.dw", params: params, out: w.Shape(),
					run32: convWeights[float32](p), run64: convWeights[float64](p)}, x, dy)
			})
		}
		if len(ins) == 3 && wrt[2] {
			out[2] = b.step("conv3d.db", []arg{need("dy", dy)}, func() (*G.Node, error) {
				return b.kernel(kernelSpec{name: "conv3d.db", params: params, out: tensor.Shape{p.O},
					run32: convBias[float32](p), run64: convBias[float64](p)}, dy)
			})
		}
		return out
	}
}

func convData[T kernels.Float](p kernels.Conv3d) runFn[T] {
	return func(ws *kernels.Workspace, in [][]T, out []T) error {
		return kernels.Conv3dBackwardData(p, ws, in[0], in[1], out)
	}
}

func convWeights[T kernels.Float](p kernels.Conv3d) runFn[T] {
	return func(ws *kernels.Workspace, in [][]T, out []T) error {
		return kernels.Conv3dBackwardWeights(p, ws, in[0], in[1], out, nil)
	}
}

func convBias[T kernels.Float](p kernels.Conv3d) runFn[T] {
	return func(_ *kernels.Workspace, in [][]T, out []T) error {
		return kernels.Conv3dBackwardBias(p, in[0], out)
	}
}

// WeightStd returns the scaled weight standardization of w (MODEL.md 1.4, kernels.WeightStd):
// each of the O rows of fan-in F (the product of the other axes) becomes
// gain_o·(w_o − mean)/sqrt(F·var + 1e-5). gain is [O], or nil for the layers without a gain.
// The output has w's shape.
func (b *Builder) WeightStd(w, gain *G.Node) *G.Node {
	return b.step("weightstd", []arg{need("w", w), maybe("gain", gain)}, func() (*G.Node, error) {
		ws := w.Shape()
		if len(ws) < 1 {
			return nil, shapeErr("w must have an output axis")
		}
		s := kernels.WeightStd{O: ws[0], F: ws.TotalSize() / max(1, ws[0])}
		if err := s.Validate(); err != nil {
			return nil, kernelShapeErr{err}
		}
		inputs := []*G.Node{w}
		if gain != nil {
			if !sameShape(gain.Shape(), tensor.Shape{s.O}) {
				return nil, shapeErr("gain has shape %v, want [%d]", []int(gain.Shape()), s.O)
			}
			inputs = append(inputs, gain)
		}
		return b.kernel(kernelSpec{
			name: "weightstd", params: fmt.Sprintf("%+v", s), out: ws,
			run32: wstdForward[float32](s), run64: wstdForward[float64](s),
			grad: wstdGrad(s),
		}, inputs...)
	})
}

func wstdForward[T kernels.Float](s kernels.WeightStd) runFn[T] {
	return func(_ *kernels.Workspace, in [][]T, out []T) error {
		var gain []T
		if len(in) == 2 {
			gain = in[1]
		}
		return kernels.WeightStdForward(s, in[0], gain, out)
	}
}

// wstdGrad builds dw (and dgain) with one kernel call: weightstd.grad(w, [gain,] dy).
func wstdGrad(s kernels.WeightStd) gradFn {
	return func(b *Builder, ins []*G.Node, _, dy *G.Node, wrt []bool) []*G.Node {
		args := []arg{need("w", ins[0])}
		parts := []tensor.Shape{ins[0].Shape()}
		if len(ins) == 2 {
			args = append(args, need("gain", ins[1]))
			parts = append(parts, ins[1].Shape())
		}
		inputs := append(append([]*G.Node(nil), ins...), dy)
		args = append(args, need("dy", dy))
		return b.stepN("weightstd.grad", args, func() ([]*G.Node, error) {
			return b.kernelPacked(kernelSpec{name: "weightstd.grad", params: fmt.Sprintf("%+v", s),
				run32: wstdBackward[float32](s), run64: wstdBackward[float64](s)}, parts, wrt, inputs...)
		})
	}
}

func wstdBackward[T kernels.Float](s kernels.WeightStd) runFn[T] {
	return func(_ *kernels.Workspace, in [][]T, out []T) error {
		if len(in) == 2 { // w, dy
			return kernels.WeightStdBackward(s, in[0], nil, in[1], out, nil)
		}
		p := splitParts(out, s.O*s.F, s.O)
		return kernels.WeightStdBackward(s, in[0], in[1], in[2], p[0], p[1])
	}
}
