package kernels

import (
	"math"
	"testing"
)

// TestFastMath checks each fast function against the math package on a fine grid of its
// domain, with relative-error bounds that keep it at float32 rounding level (float32's unit
// roundoff is 6e-8).
func TestFastMath(t *testing.T) {
	cases := []struct {
		name    string
		lo, hi  float64
		got     func(float64) float64
		want    func(float64) float64
		relTol  float64
		minWant float64 // below this magnitude the reference is not compared (subnormal results)
	}{
		// expf rounds to float32: 6e-8 from rounding, 1e-8 from the polynomial.
		{"expf", -103, 88.7, func(x float64) float64 { return float64(expf(float32(x))) },
			func(x float64) float64 { return math.Exp(float64(float32(x))) }, 1.5e-7, 1e-37},
		{"expCore", -700, 700, expCore, math.Exp, 2e-8, 0},
		{"sigmoidf", -100, 100, func(x float64) float64 { return sigmoidf(float32(x)) },
			func(x float64) float64 { return 1 / (1 + math.Exp(-float64(float32(x)))) }, 2e-8, 1e-300},
		{"tanhf", -20, 20, tanhf, math.Tanh, 1.5e-7, 1e-300},
		{"tanhf-small", -0.2, 0.2, tanhf, math.Tanh, 1.5e-7, 1e-300},
		{"erfcPos", 0, 10, erfcPos, math.Erfc, 3e-8, 0},
		{"normCDF", -14, 8, normCDF, func(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }, 3e-8, 1e-44},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			worst, at := 0.0, 0.0
			const steps = 400000
			for i := 0; i <= steps; i++ {
				x := tc.lo + (tc.hi-tc.lo)*float64(i)/steps
				want := tc.want(x)
				if math.Abs(want) < tc.minWant {
					continue
				}
				if e := math.Abs(tc.got(x)/want - 1); e > worst {
					worst, at = e, x
				}
			}
			if worst > tc.relTol {
				t.Errorf("relative error %.3g at x = %v, want ≤ %.3g", worst, at, tc.relTol)
			}
			t.Logf("worst relative error %.3g at x = %.5g", worst, at)
		})
	}
	t.Run("edges", func(t *testing.T) {
		inf := math.Inf(1)
		checks := []struct {
			name      string
			got, want float64
		}{
			{"expf(0)", float64(expf(0)), 1},
			{"expf(89)", float64(expf(89)), inf},
			{"expf(-104)", float64(expf(-104)), 0},
			{"expf(+Inf)", float64(expf(float32(inf))), inf},
			{"expf(-Inf)", float64(expf(float32(-inf))), 0},
			{"sigmoidf(+Inf)", sigmoidf(float32(inf)), 1},
			{"sigmoidf(-Inf) as float32", float64(float32(sigmoidf(float32(-inf)))), 0},
			{"tanhf(+Inf)", tanhf(inf), 1},
			{"tanhf(-Inf)", tanhf(-inf), -1},
			{"tanhf(0)", tanhf(0), 0},
			{"normCDF(-40)", normCDF(-40), 0},
			{"normCDF(40)", normCDF(40), 1},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
			}
		}
		nan := math.NaN()
		for name, v := range map[string]float64{
			"expf": float64(expf(float32(nan))), "sigmoidf": sigmoidf(float32(nan)),
			"tanhf": tanhf(nan), "normCDF": normCDF(nan),
		} {
			if !math.IsNaN(v) {
				t.Errorf("%s(NaN) = %v, want NaN", name, v)
			}
		}
	})
}
