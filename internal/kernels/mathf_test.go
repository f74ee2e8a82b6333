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
		// The polynomial's truncation error is below 5e-9; float64 rounding adds little.
		{"expCore", -700, 700, expCore, math.Exp, 2e-8, 0},
		{"sigmoids", -100, 100, one32(func(x []float32, o []float64) { sigmoids(x, o) }),
			func(x float64) float64 { return 1 / (1 + math.Exp(-float64(float32(x)))) }, 2e-8, 1e-300},
		{"tanhs", -20, 20, one64(tanhs), math.Tanh, 5e-8, 1e-300},
		{"tanhs-small", -0.2, 0.2, one64(tanhs), math.Tanh, 5e-8, 1e-300},
		{"normCDFs", -14, 8, one32(func(x []float32, o []float64) { normCDFs(x, o, nil) }),
			func(x float64) float64 { return 0.5 * math.Erfc(-float64(float32(x))/math.Sqrt2) }, 3e-8, 1e-44},
		{"normCDFs-pdf", -14, 14, one32(func(x []float32, o []float64) {
			var c [1]float64
			normCDFs(x, c[:], o)
		}), func(x float64) float64 {
			v := float64(float32(x))
			return math.Exp(-v*v/2) / math.Sqrt(2*math.Pi)
		}, 3e-8, 1e-300},
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
			{"exp(0)", expCore(0), 1},
			{"exp(89) as float32", float64(float32(expCore(clampExp(89)))), inf},
			{"exp(-104) as float32", float64(float32(expCore(clampExp(-104)))), 0},
			{"exp(+Inf) as float32", float64(float32(expCore(clampExp(inf)))), inf},
			{"exp(-Inf) as float32", float64(float32(expCore(clampExp(-inf)))), 0},
			{"sigmoid(+Inf)", one32(sigmoidsOnly)(inf), 1},
			{"sigmoid(-Inf) as float32", float64(float32(one32(sigmoidsOnly)(-inf))), 0},
			{"tanh(+Inf)", one64(tanhs)(inf), 1},
			{"tanh(-Inf)", one64(tanhs)(-inf), -1},
			{"tanh(0)", one64(tanhs)(0), 0},
			{"Φ(-40)", one32(cdfOnly)(-40), 0},
			{"Φ(40)", one32(cdfOnly)(40), 1},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
			}
		}
		nan := math.NaN()
		for name, v := range map[string]float64{
			"exp": expCore(clampExp(nan)), "sigmoid": one32(sigmoidsOnly)(nan),
			"tanh": one64(tanhs)(nan), "Φ": one32(cdfOnly)(nan),
		} {
			if !math.IsNaN(v) {
				t.Errorf("%s(NaN) = %v, want NaN", name, v)
			}
		}
	})
}

// TestFastMathFloat64IsExact checks that float64 kernels bypass the fast functions: their
// sigmoid, tanh and normal CDF and density are the math package's to float64 rounding. The
// fast ones are accurate to float32 rounding only and rounded-to-nearest in their range
// reduction, so finite differences of a float64 kernel built on them would be off by
// (their error)/(step) ≈ 1e-8/1e-6.
func TestFastMathFloat64IsExact(t *testing.T) {
	x := make([]float64, 2001)
	for i := range x {
		x[i] = -20 + 0.02*float64(i) + 1e-3 // off the grid points a polynomial would match exactly
	}
	sig, th, cdf, pdf := make([]float64, len(x)), make([]float64, len(x)), make([]float64, len(x)), make([]float64, len(x))
	sigmoids(x, sig)
	tanhsOf[float64](x, th)
	for a := 0; a < len(x); a += expBlock {
		b := min(len(x), a+expBlock)
		normCDFs(x[a:b], cdf[a:b], pdf[a:b])
	}
	for i, v := range x {
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"sigmoid", sig[i], 1 / (1 + math.Exp(-v))},
			{"tanh", th[i], math.Tanh(v)},
			{"Φ", cdf[i], 0.5 * math.Erfc(-v/math.Sqrt2)},
			{"φ", pdf[i], math.Exp(-v*v/2) / math.Sqrt(2*math.Pi)},
		} {
			// A few float64 roundings apart at most (unit roundoff 1.1e-16).
			if math.Abs(c.got-c.want) > 1e-15*math.Abs(c.want) {
				t.Fatalf("%s(%v) = %v, want %v", c.name, v, c.got, c.want)
			}
		}
	}
}

// one32 and one64 turn a block function into a scalar one for the grid checks.
func one32(f func([]float32, []float64)) func(float64) float64 {
	return func(x float64) float64 {
		var out [1]float64
		f([]float32{float32(x)}, out[:])
		return out[0]
	}
}

func one64(f func(x, out []float64)) func(float64) float64 {
	return func(x float64) float64 {
		var out [1]float64
		f([]float64{x}, out[:])
		return out[0]
	}
}

func sigmoidsOnly(x []float32, out []float64) { sigmoids(x, out) }

func cdfOnly(x []float32, out []float64) { normCDFs(x, out, nil) }
