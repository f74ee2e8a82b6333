package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Shared test helpers: random inputs, copies to float64, error measures, and central finite
// differences of float64 reference functions. Every kernel test runs once per element type,
// as testX[float32] and testX[float64], with the tolerance tol[T].

// tol32 is the normalised error allowed between a float32 kernel and a float64 reference:
// float32 carries 24 bits (eps 6e-8) and the kernels sum at most a few thousand products, whose
// rounding errors grow like sqrt(terms)·eps ≈ 4e-6 in the worst test; 1e-5 leaves margin while
// still catching any real indexing error (those give errors of order 1).
const tol32 = 1e-5

// tol64 is the same for a float64 kernel. Against a float64 reference only rounding (≈ 1e-15)
// separates the two; against central differences (fdStep) the difference's own truncation
// (h²·f”'/6 ≈ 2e-11) and rounding (eps·|loss|/h ≈ 1e-10 for losses up to 10) dominate. 1e-8
// stays two orders above both and far below the float32 tolerance, so a float64 kernel that
// fell back to float32 arithmetic (errors ≈ 1e-7) would fail. That the float64 transcendentals
// are the exact ones is checked separately (TestFastMath/float64-exact): their float32-level
// errors would pass 1e-8 here, but they are not smooth enough for finite differences.
const tol64 = 1e-8

// tol returns the tolerance for element type T.
func tol[T Float]() float64 {
	if isDouble[T]() {
		return tol64
	}
	return tol32
}

// newRand returns a deterministic generator for a test case.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// randSlice returns n values uniform in [-1, 1). The float32 and float64 draws of one seed are
// the same numbers up to rounding.
func randSlice[T Float](rng *rand.Rand, n int) []T {
	x := make([]T, n)
	for i := range x {
		x[i] = T(2*rng.Float64() - 1)
	}
	return x
}

// to64 returns a float64 copy of x (exact).
func to64[T Float](x []T) []float64 {
	if x == nil {
		return nil
	}
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// relErr returns max|got − want| / max(max|want|, floor): the largest error as a fraction of
// the largest reference value, so that near-zero elements are judged on the tensor's scale.
func relErr[T Float](got []T, want []float64) float64 {
	var num, den float64
	for i, w := range want {
		num = math.Max(num, math.Abs(float64(got[i])-w))
		den = math.Max(den, math.Abs(w))
	}
	return num / math.Max(den, 1e-30)
}

// checkClose fails the test when got and want differ by more than tol (relErr) or in length.
func checkClose[T Float](t *testing.T, name string, got []T, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: length %d, want %d", name, len(got), len(want))
	}
	for i, v := range got {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("%s[%d] = %v, want %v", name, i, v, want[i])
		}
	}
	if e := relErr(got, want); e > tol {
		i := argMaxErr(got, want)
		t.Errorf("%s: relative error %.3g > %.3g (worst at %d: got %v, want %v)", name, e, tol, i, got[i], want[i])
	}
}

// argMaxErr returns the index of the largest absolute difference.
func argMaxErr[T Float](got []T, want []float64) int {
	best, bi := -1.0, 0
	for i, w := range want {
		if d := math.Abs(float64(got[i]) - w); d > best {
			best, bi = d, i
		}
	}
	return bi
}

// dot64 returns Σ a·b.
func dot64(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// fdStep is the central-difference step: for float64 functions of inputs of order 1 the
// truncation error h²·f”' ≈ 1e-10 and the rounding error eps/h ≈ 2e-11, both far below the
// tolerances of the comparisons.
const fdStep = 1e-5

// numGrad returns the central finite-difference gradient of loss with respect to every element
// of x; loss must read x (it is perturbed in place and restored).
func numGrad(x []float64, loss func() float64) []float64 {
	g := make([]float64, len(x))
	for i := range x {
		v := x[i]
		x[i] = v + fdStep
		lp := loss()
		x[i] = v - fdStep
		lm := loss()
		x[i] = v
		g[i] = (lp - lm) / (2 * fdStep)
	}
	return g
}

// workspaces returns the workspaces a kernel is tested with: one worker, and three workers,
// so that the fan-out, its partial sums and odd splits all run.
func workspaces() []namedWS {
	return []namedWS{{"w1", NewWorkspace(1)}, {"w3", NewWorkspace(3)}}
}

// namedWS is a workspace with a subtest name.
type namedWS struct {
	name string
	ws   *Workspace
}

// scaled multiplies every element of x by s in place and returns x.
func scaled[T Float](x []T, s T) []T {
	for i := range x {
		x[i] *= s
	}
	return x
}

// filled returns n copies of v.
func filled[T Float](n int, v T) []T {
	x := make([]T, n)
	for i := range x {
		x[i] = v
	}
	return x
}
