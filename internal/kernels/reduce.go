package kernels

import (
	"fmt"
	"strings"
)

// Reduce describes a sum of a row-major tensor over some of its axes, and its adjoint, the
// broadcast of the reduced tensor back to the full shape. Sizes are the tensor's axes, Reduced
// marks the summed ones; the reduced tensor has the other axes, in order (a scalar when all are
// reduced). Build it with NewReduce, which merges neighbouring axes of the same kind and drops
// axes of size 1, so that the loops run over as few and as long runs as possible.
type Reduce struct {
	Sizes   []int
	Reduced []bool
}

// NewReduce returns the Reduce of a tensor of the given shape summed over axes (each in
// [0, len(shape)), no repeats), merged.
func NewReduce(shape []int, axes []int) (Reduce, error) {
	red := make([]bool, len(shape))
	for _, a := range axes {
		if a < 0 || a >= len(shape) || red[a] {
			return Reduce{}, fmt.Errorf("reduce: axes %v of a rank-%d tensor: out of range or repeated: %w", axes, len(shape), ErrShape)
		}
		red[a] = true
	}
	var r Reduce
	for i, s := range shape {
		if s < 1 {
			return Reduce{}, fmt.Errorf("reduce: shape %v has a size below 1: %w", shape, ErrShape)
		}
		switch {
		case s == 1:
			continue
		case len(r.Sizes) > 0 && r.Reduced[len(r.Reduced)-1] == red[i]:
			r.Sizes[len(r.Sizes)-1] *= s
		default:
			r.Sizes = append(r.Sizes, s)
			r.Reduced = append(r.Reduced, red[i])
		}
	}
	return r, nil
}

// String formats the runs, for op hashes and errors: "2×[8]×15" reduces the run of 8.
func (r Reduce) String() string {
	parts := make([]string, len(r.Sizes))
	for i, s := range r.Sizes {
		if r.Reduced[i] {
			parts[i] = fmt.Sprintf("[%d]", s)
		} else {
			parts[i] = fmt.Sprint(s)
		}
	}
	return strings.Join(parts, "×")
}

// Validate reports whether the sizes are usable.
func (r Reduce) Validate() error { return r.validate("reduce") }

func (r Reduce) validate(kernel string) error {
	if len(r.Reduced) != len(r.Sizes) {
		return fmt.Errorf("%s: %d sizes, %d reduced flags: %w", kernel, len(r.Sizes), len(r.Reduced), ErrShape)
	}
	return checkPositive(kernel, "Sizes", r.Sizes...)
}

// Lens returns the lengths of the full tensor and of the reduced one.
func (r Reduce) Lens() (full, reduced int) {
	full, reduced = 1, 1
	for i, s := range r.Sizes {
		full *= s
		if !r.Reduced[i] {
			reduced *= s
		}
	}
	return full, reduced
}

// ReduceSum writes y = scale·Σ x over the reduced axes, accumulating in float64 (the sums may be
// long, MODEL.md's losses and readout sum thousands of terms). Shapes: x the full tensor, y the
// reduced one (Lens).
func ReduceSum[T Float](r Reduce, ws *Workspace, x []T, scale float64, y []T) error {
	const kernel = "reduce sum"
	if err := r.check(kernel, ws, len(x), len(y)); err != nil {
		return err
	}
	acc := sharedBuf[float64](ws, len(y))
	clear(acc)
	r.walk(func(in, out, n int, inner bool) {
		if inner { // the innermost run is summed: one output element
			var s float64
			for _, v := range x[in : in+n] {
				s += float64(v)
			}
			acc[out] += s
			return
		}
		a := acc[out : out+n]
		for j, v := range x[in : in+n] {
			a[j] += float64(v)
		}
	})
	for i, v := range acc {
		y[i] = T(scale * v)
	}
	return nil
}

// ReduceBroadcast writes x = scale·y repeated along the reduced axes: the adjoint of ReduceSum,
// so also its backward pass (dx from dy). Shapes as ReduceSum.
func ReduceBroadcast[T Float](r Reduce, ws *Workspace, y []T, scale float64, x []T) error {
	const kernel = "reduce broadcast"
	if err := r.check(kernel, ws, len(x), len(y)); err != nil {
		return err
	}
	s := T(scale)
	r.walk(func(in, out, n int, inner bool) {
		if inner {
			v := s * y[out]
			for j := range x[in : in+n] {
				x[in+j] = v
			}
			return
		}
		for j, v := range y[out : out+n] {
			x[in+j] = s * v
		}
	})
	return nil
}

// check validates r and the slice lengths.
func (r Reduce) check(kernel string, ws *Workspace, lx, ly int) error {
	if err := checkWS(kernel, ws); err != nil {
		return err
	}
	if err := r.validate(kernel); err != nil {
		return err
	}
	full, reduced := r.Lens()
	if err := checkLen(kernel, "full tensor", lx, full); err != nil {
		return err
	}
	return checkLen(kernel, "reduced tensor", ly, reduced)
}

// walk calls fn once per stretch of the innermost run, in row-major order: in is the offset of
// the stretch in the full tensor, out the offset of its first element in the reduced one, n its
// length, and inner whether the innermost run is reduced (then the whole stretch maps to
// y[out]; otherwise element j maps to y[out+j]).
func (r Reduce) walk(fn func(in, out, n int, inner bool)) {
	k := len(r.Sizes)
	if k == 0 { // every axis has size 1
		fn(0, 0, 1, false)
		return
	}
	n, inner := r.Sizes[k-1], r.Reduced[k-1]
	// stride[i] is the step in the reduced tensor of outer axis i (0 for a reduced axis).
	var strideBuf, idxBuf [8]int
	stride, idx := strideBuf[:0], idxBuf[:0]
	if k-1 > len(strideBuf) {
		stride, idx = make([]int, 0, k-1), make([]int, 0, k-1)
	}
	stride, idx = stride[:k-1], idx[:k-1]
	step := 1
	if !inner {
		step = n
	}
	for i := k - 2; i >= 0; i-- {
		if r.Reduced[i] {
			stride[i] = 0
		} else {
			stride[i] = step
			step *= r.Sizes[i]
		}
	}
	clear(idx)
	out := 0
	for in := 0; ; in += n {
		fn(in, out, n, inner)
		// Advance the outer multi-index, last axis fastest.
		i := k - 2
		for ; i >= 0; i-- {
			idx[i]++
			out += stride[i]
			if idx[i] < r.Sizes[i] {
				break
			}
			out -= stride[i] * idx[i]
			idx[i] = 0
		}
		if i < 0 {
			return
		}
	}
}
