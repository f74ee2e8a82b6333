package nn

import (
	"fmt"
	"strings"

	"github.com/fmcore/fmcore/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Slicing and concatenation as kernel ops. gorgonia's own Slice and Concat must not be used:
// gorgonia hash-conses nodes (an op whose hash, inputs and output shape equal an existing node's
// is that node), and its sliceOp hashes the slice bounds truncated to a byte
// (binary.Write(h, byte(op.Start())), gorgonia v0.9.18 op_tensor.go). Two equally long slices
// of one node along one axis whose bounds agree modulo 256 are therefore one node: G.Slice(x,
// [0, 768)) and G.Slice(x, [768, 1536)) both return the first. Concat's gradient is built from
// such slices, so the second input of a concatenation of two equal parts of 768 (or any multiple
// of 256) elements per row received the first input's gradient, and a forward Slice along a
// time axis of more than 256 frames returned frame t for frame t+256. kernelOp hashes every
// parameter in full, so these ops cannot be merged by mistake.

// blockCopy describes a copy between two row-major buffers viewed as matrices with the same
// number of rows: columns [Src, Src+Width) of each row of the input [Rows, In] go to columns
// [Dst, Dst+Width) of the same row of the output [Rows, Out]; every other output element is
// zero. Slicing along an axis is the case Out = Width, Dst = 0; its adjoint, placing a slice
// into zeros, swaps In with Out and Src with Dst.
type blockCopy struct {
	Rows, In, Out, Src, Dst, Width int
}

// adjoint returns the copy whose matrix is the transpose of c's: it maps an output gradient
// of c to the input gradient.
func (c blockCopy) adjoint() blockCopy {
	return blockCopy{Rows: c.Rows, In: c.Out, Out: c.In, Src: c.Dst, Dst: c.Src, Width: c.Width}
}

// validate checks that both column ranges lie inside their rows.
func (c blockCopy) validate() error {
	if c.Rows < 1 || c.Width < 0 || c.Src < 0 || c.Dst < 0 || c.Src+c.Width > c.In || c.Dst+c.Width > c.Out {
		return shapeErr("block copy %+v out of range", c)
	}
	return nil
}

// copyBlock applies c to x, whose size is c.Rows·c.In, and returns a node of the given shape
// (size c.Rows·c.Out). Its gradient is the adjoint copy.
func (b *Builder) copyBlock(x *G.Node, c blockCopy, shape tensor.Shape) (*G.Node, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if x.Shape().TotalSize() != c.Rows*c.In || shape.TotalSize() != c.Rows*c.Out {
		return nil, shapeErr("block copy %+v from %v to %v: sizes differ", c, []int(x.Shape()), []int(shape))
	}
	from := x.Shape().Clone()
	return b.kernel(kernelSpec{
		name: "copy", params: fmt.Sprintf("%+v", c), out: shape.Clone(),
		run32: copyRun[float32](c), run64: copyRun[float64](c),
		grad: func(b *Builder, _ []*G.Node, _, dy *G.Node, _ []bool) []*G.Node {
			return []*G.Node{b.step("copy.dx", []arg{need("dy", dy)}, func() (*G.Node, error) {
				return b.copyBlock(dy, c.adjoint(), from)
			})}
		},
	}, x)
}

func copyRun[T kernels.Float](c blockCopy) runFn[T] {
	return func(_ *kernels.Workspace, in [][]T, out []T) error {
		if c.Width < c.Out {
			clear(out)
		}
		x := in[0]
		for r := range c.Rows {
			copy(out[r*c.Out+c.Dst:r*c.Out+c.Dst+c.Width], x[r*c.In+c.Src:r*c.In+c.Src+c.Width])
		}
		return nil
	}
}

// concatCols joins xs, each viewed as a matrix [rows, widths[i]], column-wise into one matrix
// [rows, Σ widths] returned with the given shape: output row r is row r of xs[0], then row r of
// xs[1], and so on. Concat along an axis and CatGroups are both this. The gradient of xs[i] is
// its block of columns of the output gradient.
func (b *Builder) concatCols(xs []*G.Node, rows int, widths []int, shape tensor.Shape) (*G.Node, error) {
	total := 0
	for i, x := range xs {
		if rows < 1 || widths[i] < 1 || x.Shape().TotalSize() != rows*widths[i] {
			return nil, shapeErr("x%d of shape %v is not [%d, %d]", i, []int(x.Shape()), rows, widths[i])
		}
		total += widths[i]
	}
	if shape.TotalSize() != rows*total {
		return nil, shapeErr("concatenation of %d×%d elements into shape %v", rows, total, []int(shape))
	}
	ws := make([]string, len(widths))
	for i, w := range widths {
		ws[i] = fmt.Sprint(w)
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
					c := blockCopy{Rows: rows, In: total, Out: widths[i], Src: off, Width: widths[i]}
					out[i] = b.step("concat.dx", []arg{need("dy", dy)}, func() (*G.Node, error) {
						return b.copyBlock(dy, c, in.Shape())
					})
				}
				off += widths[i]
			}
			return out
		},
	}, xs...)
}

func concatRun[T kernels.Float](rows int, widths []int) runFn[T] {
	total := 0
	for _, w := range widths {
		total += w
	}
	return func(_ *kernels.Workspace, in [][]T, out []T) error {
		for r := range rows {
			dst := out[r*total : (r+1)*total]
			for i, w := range widths {
				copy(dst[:w], in[i][r*w:(r+1)*w])
				dst = dst[w:]
			}
		}
		return nil
	}
}
