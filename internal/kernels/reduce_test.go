package kernels

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// refReduceSum sums x of the given shape over axes by full multi-index enumeration,
// independently of NewReduce's run merging.
func refReduceSum(shape, axes []int, x []float64, scale float64) []float64 {
	outLen := 1
	for i, s := range shape {
		if !slices.Contains(axes, i) {
			outLen *= s
		}
	}
	y := make([]float64, outLen)
	idx := make([]int, len(shape))
	for flat := range x {
		// Unflatten flat into idx, then flatten the kept axes.
		r := flat
		for i := len(shape) - 1; i >= 0; i-- {
			idx[i] = r % shape[i]
			r /= shape[i]
		}
		o := 0
		for i, s := range shape {
			if !slices.Contains(axes, i) {
				o = o*s + idx[i]
			}
		}
		y[o] += scale * x[flat]
	}
	return y
}

// reduceCases include middle axes of rank-4 and rank-5 tensors (where gorgonia's tensor.Sum
// is wrong), axes of size 1 between reduced runs, all axes, no axes, and an empty shape.
var reduceCases = []struct {
	shape, axes []int
}{
	{[]int{2, 8, 3, 5}, []int{2}},
	{[]int{2, 8, 3, 5}, []int{0, 2}},
	{[]int{2, 8, 3, 5}, []int{1}},
	{[]int{2, 3, 4, 5, 6}, []int{2, 3}},
	{[]int{2, 3, 4, 5, 6}, []int{0, 2, 4}},
	{[]int{3, 1, 4, 1, 5}, []int{0, 1, 4}},
	{[]int{1, 4, 1, 5}, []int{0, 2}},
	{[]int{4, 5}, []int{0, 1}},
	{[]int{4, 5}, nil},
	{[]int{7}, []int{0}},
	{[]int{1, 1}, []int{1}},
	{nil, nil},
	{[]int{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, []int{0, 2, 4, 6, 8, 10}}, // more runs than walk's fixed buffers
}

func TestReduceMatchesReference(t *testing.T) {
	t.Run("float32", testReduce[float32])
	t.Run("float64", testReduce[float64])
}

func testReduce[T Float](t *testing.T) {
	for i, tc := range reduceCases {
		t.Run(fmt.Sprint(tc.shape, tc.axes), func(t *testing.T) {
			r, err := NewReduce(tc.shape, tc.axes)
			if err != nil {
				t.Fatal(err)
			}
			full, reduced := r.Lens()
			rng := newRand(uint64(i))
			x, y := randSlice[T](rng, full), randSlice[T](rng, reduced)
			ws := NewWorkspace(1)
			sum := make([]T, reduced)
			if err := ReduceSum(r, ws, x, 0.5, sum); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "sum", sum, refReduceSum(tc.shape, tc.axes, to64(x), 0.5), tol[T]())
			// Broadcast is the adjoint of the sum: ⟨sum(x), y⟩ = ⟨x, broadcast(y)⟩, with the same
			// scale on both sides.
			bc := make([]T, full)
			if err := ReduceBroadcast(r, ws, y, 0.5, bc); err != nil {
				t.Fatal(err)
			}
			lhs, rhs := dot64(to64(sum), to64(y)), dot64(to64(x), to64(bc))
			checkClose(t, "⟨x, broadcast(y)⟩", []T{T(rhs)}, []float64{lhs}, tol[T]())
			// And each broadcast element is scale times its reduced element.
			ones := make([]float64, full)
			for j := range ones {
				ones[j] = 1
			}
			counts := refReduceSum(tc.shape, tc.axes, ones, 1)
			want := refReduceSum(tc.shape, tc.axes, to64(bc), 1)
			for j := range want {
				want[j] /= counts[j]
				want[j] /= 0.5
			}
			checkClose(t, "broadcast mean", y, want, tol[T]())
		})
	}
}

// TestReduceFloat64Accumulation checks that a float32 sum of many terms is accurate to
// float32 rounding of the result, not of every partial sum: 1 + 2^20 copies of 2^-24 sum to
// 1.0625, while a float32 running sum would stay at 1 (each 2^-24 is half an ulp of 1). Both
// loops are checked: the summed axis innermost, and outermost with a kept axis inside.
func TestReduceFloat64Accumulation(t *testing.T) {
	n := 1<<20 + 1
	for _, inner := range []int{1, 2} {
		x := make([]float32, n*inner)
		for i := range x {
			x[i] = 1.0 / (1 << 24)
		}
		for j := range inner {
			x[j] = 1
		}
		r, err := NewReduce([]int{n, inner}, []int{0})
		if err != nil {
			t.Fatal(err)
		}
		y := make([]float32, inner)
		if err := ReduceSum(r, NewWorkspace(1), x, 1, y); err != nil {
			t.Fatal(err)
		}
		for j, v := range y {
			if v != 1.0625 {
				t.Errorf("[%d, %d] over axis 0: sum %d is %v, want 1.0625", n, inner, j, v)
			}
		}
	}
}

func TestNewReduceMerges(t *testing.T) {
	for _, tc := range []struct {
		shape, axes []int
		want        string
	}{
		{[]int{2, 8, 3, 5}, []int{0, 2}, "[2]×8×[3]×5"},
		{[]int{2, 3, 4, 5}, []int{1, 2}, "2×[12]×5"},
		{[]int{3, 1, 4, 1, 5}, []int{0, 1, 4}, "[3]×4×[5]"}, // size-1 axes join any run
		{[]int{1, 1}, []int{0}, ""},
	} {
		r, err := NewReduce(tc.shape, tc.axes)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.String(); got != tc.want {
			t.Errorf("NewReduce(%v, %v) = %s, want %s", tc.shape, tc.axes, got, tc.want)
		}
	}
}

func TestReduceRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  func() error
	}{
		{"axis out of range", func() error { _, err := NewReduce([]int{2, 3}, []int{2}); return err }},
		{"repeated axis", func() error { _, err := NewReduce([]int{2, 3}, []int{1, 1}); return err }},
		{"zero size", func() error { _, err := NewReduce([]int{2, 0}, nil); return err }},
		{"short y", func() error {
			r, _ := NewReduce([]int{2, 3}, []int{1})
			return ReduceSum(r, NewWorkspace(1), make([]float32, 6), 1, make([]float32, 1))
		}},
		{"short x", func() error {
			r, _ := NewReduce([]int{2, 3}, []int{1})
			return ReduceBroadcast(r, NewWorkspace(1), make([]float32, 2), 1, make([]float32, 5))
		}},
		{"nil workspace", func() error {
			r, _ := NewReduce([]int{2, 3}, []int{1})
			return ReduceSum(r, nil, make([]float32, 6), 1, make([]float32, 2))
		}},
	} {
		if err := tc.err(); !errors.Is(err, ErrShape) {
			t.Errorf("%s: error %v, want one wrapping ErrShape", tc.name, err)
		}
	}
}
