package kernels

import (
	"math"
	"testing"
)

// TestExpf checks expf against math.Exp on a fine grid over the float32 domain and at the
// edges: relative error below 1.5e-7 (the polynomial contributes < 5e-9, the final rounding
// to float32 up to 6e-8; the bound leaves room for both), exact overflow and underflow.
func TestExpf(t *testing.T) {
	worst, at := 0.0, 0.0
	for x := -103.0; x < 88.7; x += 0.000917 {
		want := math.Exp(float64(float32(x)))
		got := float64(expf(float32(x)))
		if want < math.SmallestNonzeroFloat32*(1<<23) {
			continue // subnormal float32 results carry fewer bits; the relative bound does not apply
		}
		if e := math.Abs(got/want - 1); e > worst {
			worst, at = e, x
		}
	}
	if worst > 1.5e-7 {
		t.Errorf("expf relative error %.3g at x = %v, want ≤ 1.5e-7", worst, at)
	}
	t.Logf("worst relative error %.3g at x = %.4f", worst, at)
	cases := []struct{ x, want float32 }{
		{0, 1}, {89, float32(math.Inf(1))}, {-104, 0}, {float32(math.Inf(-1)), 0}, {float32(math.Inf(1)), float32(math.Inf(1))},
	}
	for _, c := range cases {
		if got := expf(c.x); got != c.want {
			t.Errorf("expf(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if got := expf(float32(math.NaN())); !math.IsNaN(float64(got)) {
		t.Errorf("expf(NaN) = %v, want NaN", got)
	}
}
