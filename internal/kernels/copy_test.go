package kernels

import (
	"errors"
	"fmt"
	"testing"
)

// refSlice returns elements [start, end) along axis of x [outer, size, inner], the plain
// definition of what a ColCopy slice computes.
func refSlice(x []float64, outer, size, inner, start, end int) []float64 {
	var y []float64
	for o := range outer {
		for k := start; k < end; k++ {
			y = append(y, x[(o*size+k)*inner:(o*size+k+1)*inner]...)
		}
	}
	return y
}

func TestCopyColsMatchesReference(t *testing.T) {
	t.Run("float32", testCopyCols[float32])
	t.Run("float64", testCopyCols[float64])
}

func testCopyCols[T Float](t *testing.T) {
	// Slices of x [outer, size, inner] along the middle axis, including bounds 256 apart (the
	// ones gorgonia's Slice merged) and the whole axis.
	for i, tc := range []struct{ outer, size, inner, start, end int }{
		{1, 1536, 1, 0, 768},
		{1, 1536, 1, 768, 1536},
		{2, 600, 1, 256, 512},
		{3, 5, 4, 1, 3},
		{2, 3, 1, 0, 3},
	} {
		t.Run(fmt.Sprint(tc), func(t *testing.T) {
			x := randSlice[T](newRand(uint64(i)), tc.outer*tc.size*tc.inner)
			w := (tc.end - tc.start) * tc.inner
			c := ColCopy{Rows: tc.outer, In: tc.size * tc.inner, Out: w, Src: tc.start * tc.inner, Width: w}
			y := make([]T, tc.outer*w)
			if err := CopyCols(c, x, y); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "slice", y, refSlice(to64(x), tc.outer, tc.size, tc.inner, tc.start, tc.end), 0)
			// The adjoint puts the slice back in place, with zeros everywhere else.
			back := filled(len(x), T(7)) // must be overwritten everywhere
			if err := CopyCols(c.Adjoint(), y, back); err != nil {
				t.Fatal(err)
			}
			want := make([]float64, len(x))
			for o := range tc.outer {
				for k := tc.start; k < tc.end; k++ {
					for j := range tc.inner {
						at := (o*tc.size+k)*tc.inner + j
						want[at] = float64(x[at])
					}
				}
			}
			checkClose(t, "adjoint", back, want, 0)
		})
	}
}

func TestConcatColsMatchesReference(t *testing.T) {
	t.Run("float32", testConcatCols[float32])
	t.Run("float64", testConcatCols[float64])
}

func testConcatCols[T Float](t *testing.T) {
	rows, widths := 3, []int{2, 5, 1}
	rng := newRand(1)
	xs := make([][]T, len(widths))
	for i, w := range widths {
		xs[i] = randSlice[T](rng, rows*w)
	}
	y := make([]T, rows*8)
	if err := ConcatCols(rows, widths, xs, y); err != nil {
		t.Fatal(err)
	}
	var want []float64
	for r := range rows {
		for i, w := range widths {
			want = append(want, to64(xs[i][r*w:(r+1)*w])...)
		}
	}
	checkClose(t, "y", y, want, 0)
	// Each input is recovered by its column block, the concatenation's backward pass.
	off := 0
	for i, w := range widths {
		got := make([]T, rows*w)
		if err := CopyCols(ColCopy{Rows: rows, In: 8, Out: w, Src: off, Width: w}, y, got); err != nil {
			t.Fatal(err)
		}
		checkClose(t, fmt.Sprintf("block %d", i), got, to64(xs[i]), 0)
		off += w
	}
}

func TestCopyRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  func() error
	}{
		{"block past the row", func() error {
			return CopyCols(ColCopy{Rows: 1, In: 4, Out: 2, Src: 3, Width: 2}, make([]float32, 4), make([]float32, 2))
		}},
		{"short y", func() error {
			return CopyCols(ColCopy{Rows: 2, In: 4, Out: 2, Src: 1, Width: 2}, make([]float32, 8), make([]float32, 2))
		}},
		{"widths and inputs", func() error {
			return ConcatCols(1, []int{1, 1}, [][]float32{{1}}, make([]float32, 2))
		}},
		{"short input", func() error {
			return ConcatCols(2, []int{1, 2}, [][]float32{{1, 2}, {1, 2, 3}}, make([]float32, 6))
		}},
	} {
		if err := tc.err(); !errors.Is(err, ErrShape) {
			t.Errorf("%s: error %v, want one wrapping ErrShape", tc.name, err)
		}
	}
}

func TestPermuteMatchesReference(t *testing.T) {
	t.Run("float32", testPermute[float32])
	t.Run("float64", testPermute[float64])
}

func testPermute[T Float](t *testing.T) {
	cases := []struct {
		shape, perm []int
	}{
		{[]int{3, 5}, []int{1, 0}},
		{[]int{2, 3, 4, 5}, []int{0, 2, 1, 3}},
		{[]int{2, 3, 4}, []int{2, 0, 1}},
		{[]int{4, 1, 6}, []int{2, 1, 0}},
		{[]int{700, 60}, []int{1, 0}}, // fanned out
		{[]int{7}, []int{0}},
	}
	for i, c := range cases {
		t.Run(fmt.Sprint(c.shape, c.perm), func(t *testing.T) {
			p, err := NewPermute(c.shape, c.perm)
			if err != nil {
				t.Fatal(err)
			}
			n := 1
			for _, s := range c.shape {
				n *= s
			}
			x := randSlice[T](newRand(uint64(i)), n)
			y := make([]T, n)
			ws := NewWorkspace(3)
			if err := PermuteCopy(p, ws, x, y); err != nil {
				t.Fatal(err)
			}
			// Reference: walk every input multi-index and place it by hand.
			want := make([]float64, n)
			outShape := make([]int, len(c.shape))
			for o, a := range c.perm {
				outShape[o] = c.shape[a]
			}
			idx := make([]int, len(c.shape))
			for flat := range n {
				rem := flat
				for a := len(c.shape) - 1; a >= 0; a-- {
					idx[a] = rem % c.shape[a]
					rem /= c.shape[a]
				}
				dst := 0
				for o, a := range c.perm {
					dst = dst*outShape[o] + idx[a]
				}
				want[dst] = float64(x[flat])
			}
			checkClose(t, "y", y, want, 0)
			back := make([]T, n)
			if err := PermuteCopy(p.Inverse(), ws, y, back); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "inverse", back, to64(x), 0)
		})
	}
	if _, err := NewPermute([]int{2, 3}, []int{0, 0}); !errors.Is(err, ErrShape) {
		t.Errorf("repeated axis: error %v, want ErrShape", err)
	}
	if err := PermuteCopy(Permute{Shape: []int{2, 3}, Perm: []int{1, 0}}, NewWorkspace(1), make([]T, 6), make([]T, 5)); !errors.Is(err, ErrShape) {
		t.Errorf("short y: error %v, want ErrShape", err)
	}
}
