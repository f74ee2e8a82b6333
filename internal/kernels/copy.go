package kernels

import "fmt"

// ColCopy describes a copy between two row-major buffers viewed as matrices with the same
// number of rows: columns [Src, Src+Width) of each row of x [Rows, In] go to columns
// [Dst, Dst+Width) of the same row of y [Rows, Out], and every other element of y is zero.
// Slicing [start, end) along an axis of a tensor is the case Rows = product of the axes before
// it, In = its size times the product of the axes after it (inner), Src = start·inner,
// Out = Width = (end − start)·inner, Dst = 0; its adjoint (Adjoint) places the slice into
// zeros.
type ColCopy struct {
	Rows, In, Out, Src, Dst, Width int
}

// Validate reports whether both column ranges lie inside their rows.
func (c ColCopy) Validate() error { return c.validate("copy columns") }

func (c ColCopy) validate(kernel string) error {
	if err := checkPositive(kernel, "Rows, In, Out", c.Rows, c.In, c.Out); err != nil {
		return err
	}
	if c.Width < 0 || c.Src < 0 || c.Dst < 0 || c.Src+c.Width > c.In || c.Dst+c.Width > c.Out {
		return fmt.Errorf("%s: columns [%d, %d) of %d to [%d, %d) of %d out of range: %w",
			kernel, c.Src, c.Src+c.Width, c.In, c.Dst, c.Dst+c.Width, c.Out, ErrShape)
	}
	return nil
}

// Adjoint returns the copy whose matrix is the transpose of c's: it maps a gradient of y to
// the gradient of x.
func (c ColCopy) Adjoint() ColCopy {
	return ColCopy{Rows: c.Rows, In: c.Out, Out: c.In, Src: c.Dst, Dst: c.Src, Width: c.Width}
}

// CopyCols applies c: y gets the column block of x, zeros elsewhere. Shapes: x [Rows, In],
// y [Rows, Out].
func CopyCols[T Float](c ColCopy, x, y []T) error {
	const kernel = "copy columns"
	if err := c.validate(kernel); err != nil {
		return err
	}
	if err := checkLen(kernel, "x", len(x), c.Rows*c.In); err != nil {
		return err
	}
	if err := checkLen(kernel, "y", len(y), c.Rows*c.Out); err != nil {
		return err
	}
	if c.Width < c.Out {
		clear(y)
	}
	for r := range c.Rows {
		copy(y[r*c.Out+c.Dst:r*c.Out+c.Dst+c.Width], x[r*c.In+c.Src:r*c.In+c.Src+c.Width])
	}
	return nil
}

// ConcatCols joins matrices xs[i] [rows, widths[i]] column-wise into y [rows, Σ widths]: row r
// of y is row r of xs[0], then row r of xs[1], and so on. Concatenation along any axis is this
// with rows = the product of the axes before it; the backward pass is one CopyCols per input.
func ConcatCols[T Float](rows int, widths []int, xs [][]T, y []T) error {
	const kernel = "concat columns"
	if len(xs) != len(widths) {
		return fmt.Errorf("%s: %d inputs, %d widths: %w", kernel, len(xs), len(widths), ErrShape)
	}
	if err := checkPositive(kernel, "rows", rows); err != nil {
		return err
	}
	if err := checkPositive(kernel, "widths", widths...); err != nil {
		return err
	}
	total := 0
	for i, w := range widths {
		if err := checkLen(kernel, fmt.Sprintf("x%d", i), len(xs[i]), rows*w); err != nil {
			return err
		}
		total += w
	}
	if err := checkLen(kernel, "y", len(y), rows*total); err != nil {
		return err
	}
	for r := range rows {
		dst := y[r*total : (r+1)*total]
		for i, w := range widths {
			copy(dst[:w], xs[i][r*w:(r+1)*w])
			dst = dst[w:]
		}
	}
	return nil
}

// Permute describes a transposition of a row-major tensor: output axis i is input axis
// Perm[i], so y has the sizes Shape[Perm[0]], Shape[Perm[1]], …. Build it with NewPermute.
type Permute struct {
	Shape, Perm []int
}

// NewPermute returns the Permute of a tensor of the given shape, checking that perm holds each
// of 0 … len(shape)−1 once and that every size is at least 1.
func NewPermute(shape, perm []int) (Permute, error) {
	if len(perm) != len(shape) || len(shape) > maxRuns {
		return Permute{}, fmt.Errorf("permute: %d axes for a rank-%d tensor (at most %d): %w", len(perm), len(shape), maxRuns, ErrShape)
	}
	seen := make([]bool, len(shape))
	for _, a := range perm {
		if a < 0 || a >= len(shape) || seen[a] {
			return Permute{}, fmt.Errorf("permute: %v is not a permutation of %d axes: %w", perm, len(shape), ErrShape)
		}
		seen[a] = true
	}
	if err := checkPositive("permute", "shape", shape...); err != nil {
		return Permute{}, err
	}
	return Permute{Shape: append([]int(nil), shape...), Perm: append([]int(nil), perm...)}, nil
}

// Inverse returns the permutation that undoes p (the backward pass of p): it maps a tensor of
// p's output shape back to p's input shape.
func (p Permute) Inverse() Permute {
	inv := make([]int, len(p.Perm))
	out := make([]int, len(p.Perm))
	for i, a := range p.Perm {
		inv[a] = i
		out[i] = p.Shape[a]
	}
	return Permute{Shape: out, Perm: inv}
}

// PermuteCopy writes y = x with its axes permuted as p says, over the workspace's workers.
// Shapes: x p.Shape, y the permuted shape; both of the same length.
func PermuteCopy[T Float](p Permute, ws *Workspace, x, y []T) error {
	const kernel = "permute"
	if err := checkWS(kernel, ws); err != nil {
		return err
	}
	if _, err := NewPermute(p.Shape, p.Perm); err != nil {
		return err
	}
	n := 1
	for _, s := range p.Shape {
		n *= s
	}
	if err := checkLen(kernel, "x", len(x), n); err != nil {
		return err
	}
	if err := checkLen(kernel, "y", len(y), n); err != nil {
		return err
	}
	k := len(p.Shape)
	if k == 0 {
		copy(y, x)
		return nil
	}
	// in[i]: stride in x of input axis i; sizes and x-strides of the output axes.
	var in, size, stride [maxRuns]int
	step := 1
	for i := k - 1; i >= 0; i-- {
		in[i] = step
		step *= p.Shape[i]
	}
	for i, a := range p.Perm {
		size[i], stride[i] = p.Shape[a], in[a]
	}
	inner, innerStride := size[k-1], stride[k-1]
	rows := n / inner
	ws.parallelRange(rows, max(1, pointwiseChunk/inner), func(_, r0, r1 int) {
		var idx [maxRuns]int
		off, rem := 0, r0
		for i := k - 2; i >= 0; i-- {
			idx[i] = rem % size[i]
			rem /= size[i]
			off += idx[i] * stride[i]
		}
		for r := r0; r < r1; r++ {
			dst := y[r*inner : (r+1)*inner]
			if innerStride == 1 {
				copy(dst, x[off:off+inner])
			} else {
				for j := range dst {
					dst[j] = x[off+j*innerStride]
				}
			}
			for i := k - 2; i >= 0; i-- {
				idx[i]++
				off += stride[i]
				if idx[i] < size[i] {
					break
				}
				off -= stride[i] * idx[i]
				idx[i] = 0
			}
		}
	})
	return nil
}
