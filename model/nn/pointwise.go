package nn

import (
	"fmt"

	"github.com/fmcore/fmcore/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GELU returns γ·gelu(x) with the exact (erf) GELU and γ = 1.7015043 (MODEL.md 1.4,
// kernels.GELU). x has any shape; so does the output.
func (b *Builder) GELU(x *G.Node) *G.Node {
	return b.step("gelu", []arg{need("x", x)}, func() (*G.Node, error) {
		return b.kernel(kernelSpec{
			name: "gelu", out: x.Shape(),
			run32: geluForward[float32], run64: geluForward[float64],
			grad: func(b *Builder, ins []*G.Node, _, dy *G.Node, _ []bool) []*G.Node {
				return []*G.Node{b.step("gelu.dx", []arg{need("x", ins[0]), need("dy", dy)}, func() (*G.Node, error) {
					return b.kernel(kernelSpec{name: "gelu.dx", out: ins[0].Shape(),
						run32: geluBackward[float32], run64: geluBackward[float64]}, ins[0], dy)
				})}
			},
		}, x)
	})
}

func geluForward[T kernels.Float](ws *kernels.Workspace, in [][]T, out []T) error {
	return kernels.GELU(ws, in[0], out)
}

func geluBackward[T kernels.Float](ws *kernels.Workspace, in [][]T, out []T) error {
	return kernels.GELUBackward(ws, in[0], in[1], out)
}

// AvgPool2 returns the 2×2 average pooling with stride 2 of every H×W plane of x (MODEL.md 4.3,
// kernels.AvgPool2): [N, C, T, H, W] → [N, C, T, H/2, W/2], an odd last row or column dropped.
// Any rank ≥ 2 works; the last two axes are pooled.
func (b *Builder) AvgPool2(x *G.Node) *G.Node {
	return b.step("avgpool2", []arg{need("x", x)}, func() (*G.Node, error) {
		xs := x.Shape()
		r := len(xs)
		if r < 2 {
			return nil, shapeErr("x must have at least 2 axes, [..., H, W]")
		}
		a := kernels.AvgPool2{M: tensor.Shape(xs[:r-2]).TotalSize(), H: xs[r-2], W: xs[r-1]}
		if r == 2 {
			a.M = 1
		}
		if err := a.Validate(); err != nil {
			return nil, kernelShapeErr{err}
		}
		out := append(append(tensor.Shape(nil), xs[:r-2]...), a.H/2, a.W/2)
		return b.kernel(kernelSpec{
			name: "avgpool2", params: fmt.Sprintf("%+v", a), out: out,
			run32: poolForward[float32](a), run64: poolForward[float64](a),
			grad: func(b *Builder, _ []*G.Node, _, dy *G.Node, _ []bool) []*G.Node {
				return []*G.Node{b.step("avgpool2.dx", []arg{need("dy", dy)}, func() (*G.Node, error) {
					return b.kernel(kernelSpec{name: "avgpool2.dx", params: fmt.Sprintf("%+v", a), out: xs,
						run32: poolBackward[float32](a), run64: poolBackward[float64](a)}, dy)
				})}
			},
		}, x)
	})
}

func poolForward[T kernels.Float](a kernels.AvgPool2) runFn[T] {
	return func(ws *kernels.Workspace, in [][]T, out []T) error {
		return kernels.AvgPool2Forward(a, ws, in[0], out)
	}
}

func poolBackward[T kernels.Float](a kernels.AvgPool2) runFn[T] {
	return func(ws *kernels.Workspace, in [][]T, out []T) error {
		return kernels.AvgPool2Backward(a, ws, in[0], out)
	}
}

// PoissonLoss returns the scalar mean over the non-NaN targets of exp(r) − y·r, r = logRate and
// y = target of the same shape (MODEL.md 4.7; NaN targets masked, 11.5; kernels.PoissonLoss).
// With no valid target it is 0. Only logRate gets a gradient, (exp(r) − y)/count.
func (b *Builder) PoissonLoss(logRate, target *G.Node) *G.Node {
	return b.step("poisson", []arg{need("logRate", logRate), need("target", target)}, func() (*G.Node, error) {
		if !sameShape(logRate.Shape(), target.Shape()) {
			return nil, shapeErr("logRate and target shapes differ")
		}
		return b.kernel(kernelSpec{
			name: "poisson", out: tensor.ScalarShape(),
			run32: poissonForward[float32], run64: poissonForward[float64],
			grad:     poissonGrad,
			constant: []int{1},
		}, logRate, target)
	})
}

func poissonForward[T kernels.Float](_ *kernels.Workspace, in [][]T, out []T) error {
	loss, _, err := kernels.PoissonLoss(in[0], in[1], nil)
	out[0] = T(loss)
	return err
}

// poissonGrad builds dr = poisson.dr(r, y)·dloss, dloss being the scalar upstream gradient.
func poissonGrad(b *Builder, ins []*G.Node, _, dy *G.Node, _ []bool) []*G.Node {
	dr := b.step("poisson.dr", []arg{need("logRate", ins[0]), need("target", ins[1])}, func() (*G.Node, error) {
		return b.kernel(kernelSpec{name: "poisson.dr", out: ins[0].Shape(),
			run32: poissonBackward[float32], run64: poissonBackward[float64]}, ins[0], ins[1])
	})
	return []*G.Node{b.Mul(dr, dy), nil}
}

func poissonBackward[T kernels.Float](_ *kernels.Workspace, in [][]T, out []T) error {
	_, _, err := kernels.PoissonLoss(in[0], in[1], out)
	return err
}
