package nn

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fmcore/fmcore/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Slicing, concatenation, sums and broadcasting as kernel ops. gorgonia's own versions compute
// wrong values in gorgonia v0.9.18 / tensor v0.9.24, silently:
//
//   - G.Slice, and G.Concat whose gradient is built from slices: gorgonia hash-conses nodes (an
//     op whose hash, inputs and output shape equal an existing node's *is* that node, at build
//     time in ExprGraph.AddNode and again at compile time), and sliceOp.WriteHash writes the
//     bounds truncated to a byte (binary.Write(h, …, byte(op.Start())), op_tensor.go). Two equally
//     long slices of one node along one axis whose bounds agree modulo 256 are one node:
//     slices [0, 768) and [768, 1536) of a concatenation's gradient both return the first, so
//     the second input got the first one's gradient; a Slice of frame t+256 returned frame t.
//   - G.Sum and G.Mean over a middle axis of a tensor of rank ≥ 4 (axis 2 of [2, 8, 3, 5], axes
//     2 and 3 of rank 5): tensor's reduction indexes wrongly, giving wrong sums or an index
//     panic. G.BroadcastAdd & co. build their gradients from such sums (the gradient of repeat
//     is a Sum along the repeated axis), so the gradient of w in x [N, C, T, U] ⊙ w [1, C, 1, U]
//     was wrong while the forward value was right.
//
// kernelOp hashes every parameter in full, and the loops are internal/kernels' (CopyCols,
// ConcatCols, ReduceSum, ReduceBroadcast), tested against naive references.

// copyCols applies c to x, whose size is c.Rows·c.In, and returns a node of the given shape
// (size c.Rows·c.Out). Its gradient is the adjoint copy.
func (b *Builder) copyCols(x *G.Node, c kernels.ColCopy, shape tensor.Shape) (*G.Node, error) {
	if err := c.Validate(); err != nil {
		return nil, kernelShapeErr{err}
	}
	if x.Shape().TotalSize() != c.Rows*c.In || shape.TotalSize() != c.Rows*c.Out {
		return nil, shapeErr("column copy %+v from %v to %v: sizes differ", c, []int(x.Shape()), []int(shape))
	}
	from := x.Shape().Clone()
	return b.kernel(kernelSpec{
		name: "copy", params: fmt.Sprintf("%+v", c), out: shape.Clone(),
		run32: copyRun[float32](c), run64: copyRun[float64](c),
		grad: func(b *Builder, _ []*G.Node, _, dy *G.Node, _ []bool) []*G.Node {
			return []*G.Node{b.step("copy.dx", []arg{need("dy", dy)}, func() (*G.Node, error) {
				return b.copyCols(dy, c.Adjoint(), from)
			})}
		},
	}, x)
}

func copyRun[T kernels.Float](c kernels.ColCopy) runFn[T] {
	return func(_ *kernels.Workspace, in [][]T, out []T) error {
		return kernels.CopyCols(c, in[0], out)
	}
}

// concatCols joins xs, each viewed as a matrix [rows, widths[i]], column-wise into one matrix
// [rows, Σ widths] returned with the given shape (kernels.ConcatCols). Concat along an axis and
// CatGroups are both this. The gradient of xs[i] is its block of columns of the output gradient.
func (b *Builder) concatCols(xs []*G.Node, rows int, widths []int, shape tensor.Shape) (*G.Node, error) {
	total := 0
	ws := make([]string, len(widths))
	for i, x := range xs {
		if rows < 1 || widths[i] < 1 || x.Shape().TotalSize() != rows*widths[i] {
			return nil, shapeErr("x%d of shape %v is not [%d, %d]", i, []int(x.Shape()), rows, widths[i])
		}
		total += widths[i]
		ws[i] = fmt.Sprint(widths[i])
	}
	if shape.TotalSize() != rows*total {
		return nil, shapeErr("concatenation of %d×%d elements into shape %v", rows, total, []int(shape))
	}
	widths = append([]int(nil), widths...)
	return b.kernel(kernelSpec{
		name: "concat", params: fmt.Sprintf("rows=%d widths=%s", rows, strings.Join(ws, ",")), out: shape.Clone(),
		run32: concatRun[float32](rows, widths), run64: concatRun[float64](rows, widths),
		grad: func(b *Builder, ins []*G.Node, _, dy *G.Node, wrt []bool) []*G.Node {
			out := make([]*G.Node, len(ins))
			off := 0
			for i, in := range ins {
				if wrt[i] {
					c := kernels.ColCopy{Rows: rows, In: total, Out: widths[i], Src: off, Width: widths[i]}
					out[i] = b.step("concat.dx", []arg{need("dy", dy)}, func() (*G.Node, error) {
						return b.copyCols(dy, c, in.Shape())
					})
				}
				off += widths[i]
			}
			return out
		},
	}, xs...)
}

func concatRun[T kernels.Float](rows int, widths []int) runFn[T] {
	return func(_ *kernels.Workspace, in [][]T, out []T) error {
		return kernels.ConcatCols(rows, widths, in, out)
	}
}

// sumAxes returns scale·Σ x over axes (kernels.ReduceSum) with shape out, or, for out nil, with
// the remaining axes of x in order (a scalar when none remain). Its gradient is broadcastAxes
// of dy.
func (b *Builder) sumAxes(x *G.Node, axes []int, scale float64, out tensor.Shape) (*G.Node, error) {
	xs := x.Shape().Clone()
	r, err := kernels.NewReduce(xs, axes)
	if err != nil {
		return nil, kernelShapeErr{err}
	}
	axes = append([]int(nil), axes...)
	if out == nil {
		for i, s := range xs {
			if !slices.Contains(axes, i) {
				out = append(out, s)
			}
		}
	} else if _, reduced := r.Lens(); out.TotalSize() != reduced {
		return nil, shapeErr("sum of %v over axes %v into shape %v: sizes differ", []int(xs), axes, []int(out))
	}
	out = out.Clone()
	return b.kernel(kernelSpec{
		name: "sum", params: fmt.Sprintf("%v scale=%v", r, scale), out: out,
		run32: sumRun[float32](r, scale), run64: sumRun[float64](r, scale),
		grad: func(b *Builder, _ []*G.Node, _, dy *G.Node, _ []bool) []*G.Node {
			return []*G.Node{b.step("sum.dx", []arg{need("dy", dy)}, func() (*G.Node, error) {
				return b.broadcastAxes(dy, xs, axes, scale)
			})}
		},
	}, x)
}

// broadcastAxes returns scale·y repeated along axes to shape (kernels.ReduceBroadcast): y holds
// the tensor of shape without axes, in any shape of that size (for example with those axes of
// size 1). Its gradient is sumAxes of dy, with y's shape.
func (b *Builder) broadcastAxes(y *G.Node, shape tensor.Shape, axes []int, scale float64) (*G.Node, error) {
	r, err := kernels.NewReduce(shape, axes)
	if err != nil {
		return nil, kernelShapeErr{err}
	}
	if full, reduced := r.Lens(); y.Shape().TotalSize() != reduced || shape.TotalSize() != full {
		return nil, shapeErr("broadcast of %v along axes %v to %v: sizes differ", []int(y.Shape()), axes, []int(shape))
	}
	ys := y.Shape().Clone()
	axes = append([]int(nil), axes...)
	return b.kernel(kernelSpec{
		name: "broadcast", params: fmt.Sprintf("%v scale=%v", r, scale), out: shape.Clone(),
		run32: broadcastRun[float32](r, scale), run64: broadcastRun[float64](r, scale),
		grad: func(b *Builder, _ []*G.Node, _, dy *G.Node, _ []bool) []*G.Node {
			return []*G.Node{b.step("broadcast.dx", []arg{need("dy", dy)}, func() (*G.Node, error) {
				return b.sumAxes(dy, axes, scale, ys)
			})}
		},
	}, y)
}

func sumRun[T kernels.Float](r kernels.Reduce, scale float64) runFn[T] {
	return func(ws *kernels.Workspace, in [][]T, out []T) error {
		return kernels.ReduceSum(r, ws, in[0], scale, out)
	}
}

func broadcastRun[T kernels.Float](r kernels.Reduce, scale float64) runFn[T] {
	return func(ws *kernels.Workspace, in [][]T, out []T) error {
		return kernels.ReduceBroadcast(r, ws, in[0], scale, out)
	}
}
