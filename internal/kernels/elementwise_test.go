package kernels

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

// refBinary computes a ∘ b over shape by explicit multi-indices: operand a is stored with size 1
// along the axes of repA (likewise b), independently of Broadcast's run merging.
func refBinary(op BinaryOp, shape, repA, repB []int, a, b []float64) []float64 {
	n := 1
	for _, s := range shape {
		n *= s
	}
	strides := func(rep []int) []int {
		st := make([]int, len(shape))
		step := 1
		for i := len(shape) - 1; i >= 0; i-- {
			repeated := false
			for _, r := range rep {
				repeated = repeated || r == i
			}
			if !repeated {
				st[i] = step
				step *= shape[i]
			}
		}
		return st
	}
	sa, sb := strides(repA), strides(repB)
	out := make([]float64, n)
	for i := range out {
		rem, ia, ib := i, 0, 0
		for ax := len(shape) - 1; ax >= 0; ax-- {
			idx := rem % shape[ax]
			rem /= shape[ax]
			ia += idx * sa[ax]
			ib += idx * sb[ax]
		}
		x, y := a[ia], b[ib]
		switch op {
		case Add:
			out[i] = x + y
		case Sub:
			out[i] = x - y
		case Mul:
			out[i] = x * y
		case Div:
			out[i] = x / y
		}
	}
	return out
}

func TestBinaryMatchesReference(t *testing.T) {
	t.Run("float32", testBinary[float32])
	t.Run("float64", testBinary[float64])
}

func testBinary[T Float](t *testing.T) {
	cases := []struct {
		name       string
		shape      []int
		repA, repB []int
	}{
		{"same-shape", []int{3, 4, 5}, nil, nil},
		{"same-shape-fanned-out", []int{3, pointwiseChunk + 7}, nil, nil},
		{"scalar-b", []int{2, 3, 4}, nil, []int{0, 1, 2}},
		{"scalar-a", []int{5, 6}, []int{0, 1}, nil},
		{"bias-5d", []int{2, 3, 4, 5, 6}, nil, []int{0, 2, 3, 4}},
		{"row-times-column", []int{7, 9}, []int{1}, []int{0}},
		{"inner-repeated-size-1-axis", []int{4, 1, 3, 2}, []int{2}, []int{0}},
		{"readout-feature", []int{2, 5, 3, 7}, nil, []int{0, 2}},
		{"many-rows-fanned-out", []int{3000, 3, 5}, []int{1}, []int{2}},
	}
	for _, op := range []BinaryOp{Add, Sub, Mul, Div} {
		for i, c := range cases {
			t.Run(op.String()+"/"+c.name, func(t *testing.T) {
				bc, err := NewBroadcast(c.shape, c.repA, c.repB)
				if err != nil {
					t.Fatal(err)
				}
				lo, la, lb := bc.Lens()
				rng := newRand(uint64(10*i) + uint64(op))
				a, b := randSlice[T](rng, la), randSlice[T](rng, lb)
				if op == Div { // keep divisors away from zero
					for j := range b {
						b[j] = 1.5 + b[j]
					}
				}
				out := make([]T, lo)
				if err := Binary(op, bc, NewWorkspace(3), a, b, out); err != nil {
					t.Fatal(err)
				}
				checkClose(t, "out", out, refBinary(op, c.shape, c.repA, c.repB, to64(a), to64(b)), tol[T]())
			})
		}
	}
}

func TestBinaryErrors(t *testing.T) {
	bc, err := NewBroadcast([]int{2, 3}, nil, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	ws := NewWorkspace(1)
	for _, c := range []struct {
		name    string
		a, b, o int
	}{{"short a", 5, 3, 6}, {"long b", 6, 6, 6}, {"short out", 6, 3, 5}} {
		t.Run(c.name, func(t *testing.T) {
			err := Binary(Mul, bc, ws, make([]float32, c.a), make([]float32, c.b), make([]float32, c.o))
			if !errors.Is(err, ErrShape) {
				t.Fatalf("error %v, want ErrShape", err)
			}
		})
	}
	if _, err := NewBroadcast([]int{2, 3}, []int{2}, nil); !errors.Is(err, ErrShape) {
		t.Errorf("axis out of range: error %v, want ErrShape", err)
	}
	if _, err := NewBroadcast([]int{2, 3}, []int{1, 1}, nil); !errors.Is(err, ErrShape) {
		t.Errorf("repeated axis: error %v, want ErrShape", err)
	}
}

// refUnary is f with the math package, in float64.
func refUnary(op UnaryOp, v float64) float64 {
	switch op {
	case Neg:
		return -v
	case Exp:
		return math.Exp(v)
	case Log:
		return math.Log(v)
	case Tanh:
		return math.Tanh(v)
	case Sigmoid:
		return 1 / (1 + math.Exp(-v))
	case Square:
		return v * v
	case Sqrt:
		return math.Sqrt(v)
	case Sin:
		return math.Sin(v)
	case Cos:
		return math.Cos(v)
	case Relu:
		return math.Max(v, 0)
	case Expm1:
		return math.Expm1(v)
	}
	return math.NaN()
}

func TestUnaryMatchesReferenceAndFiniteDifferences(t *testing.T) {
	t.Run("float32", testUnary[float32])
	t.Run("float64", testUnary[float64])
}

func testUnary[T Float](t *testing.T) {
	for op := Neg; op <= Expm1; op++ {
		for _, n := range []int{9, 2*pointwiseChunk + 3} { // one goroutine, and fanned out
			t.Run(fmt.Sprintf("%v/%d", op, n), func(t *testing.T) {
				x := scaled(randSlice[T](newRand(uint64(op)*7+uint64(n)), n), 3)
				if op == Log || op == Sqrt { // positive arguments
					for i := range x {
						x[i] = T(math.Abs(float64(x[i]))) + 0.25
					}
				}
				if op == Relu { // keep finite differences away from the kink
					for i := range x {
						if math.Abs(float64(x[i])) < 10*fdStep {
							x[i] = 0.5
						}
					}
				}
				ws := NewWorkspace(3)
				y := make([]T, n)
				if err := Unary(op, ws, x, y); err != nil {
					t.Fatal(err)
				}
				x64 := to64(x)
				want := make([]float64, n)
				for i, v := range x64 {
					want[i] = refUnary(op, v)
				}
				checkClose(t, "y", y, want, tol[T]())
				dy := randSlice[T](newRand(uint64(op)+99), n)
				dx := make([]T, n)
				if err := UnaryBackward(op, ws, x, y, dy, dx); err != nil {
					t.Fatal(err)
				}
				// Elementwise, so the finite difference of element i alone is the derivative.
				for i, v := range x64 {
					want[i] = float64(dy[i]) * (refUnary(op, v+fdStep) - refUnary(op, v-fdStep)) / (2 * fdStep)
				}
				checkClose(t, "dx", dx, want, tol[T]())
			})
		}
	}
}

func TestUnaryErrors(t *testing.T) {
	ws := NewWorkspace(1)
	if err := Unary(Tanh, ws, make([]float32, 3), make([]float32, 4)); !errors.Is(err, ErrShape) {
		t.Errorf("lengths: error %v, want ErrShape", err)
	}
	if err := Unary(UnaryOp(99), ws, make([]float32, 3), make([]float32, 3)); !errors.Is(err, ErrShape) {
		t.Errorf("unknown op: error %v, want ErrShape", err)
	}
	if err := UnaryBackward(Exp, ws, nil, make([]float32, 2), make([]float32, 3), make([]float32, 3)); !errors.Is(err, ErrShape) {
		t.Errorf("backward lengths: error %v, want ErrShape", err)
	}
}
