package nn

import (
	"fmt"

	"github.com/fmcore/fmcore/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GridSample returns the bilinear samples of img at the points of grid, PyTorch's grid_sample
// with align_corners = false (kernels.GridSample; perspective MODEL.md 4.1 step 5, readout 4.6):
//
//	img  [N, C, H, W]
//	grid [N, P, 2]    (x, y) per point in [−1, 1], x along W; outside reads zeros, or the
//	                  nearest edge with border set (then a clamped coordinate gets no gradient)
//	out  [N, C, P]
//
// Both img and grid get gradients.
func (b *Builder) GridSample(img, grid *G.Node, border bool) *G.Node {
	return b.step("gridsample", []arg{need("img", img), need("grid", grid)}, func() (*G.Node, error) {
		is, gs := img.Shape(), grid.Shape()
		if len(is) != 4 || len(gs) != 3 || gs[2] != 2 || gs[0] != is[0] {
			return nil, shapeErr("want img [N, C, H, W] and grid [N, P, 2]")
		}
		g := kernels.GridSample{N: is[0], C: is[1], H: is[2], W: is[3], P: gs[1]}
		if border {
			g.Pad = kernels.GridBorder
		}
		if err := g.Validate(); err != nil {
			return nil, kernelShapeErr{err}
		}
		return b.kernel(kernelSpec{
			name: "gridsample", params: fmt.Sprintf("%+v", g), out: tensor.Shape{g.N, g.C, g.P},
			run32: sampleForward[float32](g), run64: sampleForward[float64](g),
			grad: sampleGrad(g),
		}, img, grid)
	})
}

func sampleForward[T kernels.Float](g kernels.GridSample) runFn[T] {
	return func(ws *kernels.Workspace, in [][]T, out []T) error {
		return kernels.GridSampleForward(g, ws, in[0], in[1], out)
	}
}

// sampleGrad builds dimg = gridsample.dimg(grid, dy) and dgrid = gridsample.dgrid(img, grid,
// dy): the kernel computes each on its own, so an input that needs no gradient costs nothing.
func sampleGrad(g kernels.GridSample) gradFn {
	params := fmt.Sprintf("%+v", g)
	return func(b *Builder, ins []*G.Node, _, dy *G.Node, wrt []bool) []*G.Node {
		img, grid := ins[0], ins[1]
		out := make([]*G.Node, 2)
		if wrt[0] {
			out[0] = b.step("gridsample.dimg", []arg{need("grid", grid), need("dy", dy)}, func() (*G.Node, error) {
				return b.kernel(kernelSpec{name: "gridsample.dimg", params: params, out: img.Shape(),
					run32: sampleImage[float32](g), run64: sampleImage[float64](g)}, grid, dy)
			})
		}
		if wrt[1] {
			out[1] = b.step("gridsample.dgrid", []arg{need("img", img), need("grid", grid), need("dy", dy)}, func() (*G.Node, error) {
				return b.kernel(kernelSpec{name: "gridsample.dgrid", params: params, out: grid.Shape(),
					run32: sampleGridGrad[float32](g), run64: sampleGridGrad[float64](g)}, img, grid, dy)
			})
		}
		return out
	}
}

func sampleImage[T kernels.Float](g kernels.GridSample) runFn[T] {
	return func(ws *kernels.Workspace, in [][]T, out []T) error {
		return kernels.GridSampleBackward(g, ws, nil, in[0], in[1], out, nil)
	}
}

func sampleGridGrad[T kernels.Float](g kernels.GridSample) runFn[T] {
	return func(ws *kernels.Workspace, in [][]T, out []T) error {
		return kernels.GridSampleBackward(g, ws, in[0], in[1], in[2], nil, out)
	}
}
