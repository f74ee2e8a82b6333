package kernels

import "math"

// Fast elementwise functions for the hot loops (softmax, LSTM gates, GELU). The math package's
// Exp, Tanh and Erf cost about 9, 20 and 27 ns per element on the measured machine; in the
// CvT-LSTM's softmax (147,456 exponentials per item and group) and in GELU over a dense block
// that is as much time as the convolutions beside them. These versions evaluate in float64 at
// 5 to 14 ns and keep errors at float32 rounding level; TestFastMath checks each against the
// math package.

// expCore returns e^x for x in [−708, 709], which the caller guarantees by clamping. x =
// k·ln2 + r with k = round(x/ln2) and |r| ≤ ln2/2; e^r is a degree-7 Taylor polynomial
// (truncation error below 5e-9 relative on that interval), scaled by 2^k through the exponent
// bits. It is small enough to be inlined. A NaN x gives NaN.
func expCore(x float64) float64 {
	kf := x*math.Log2E + 1024.5 // shifted positive so that truncation rounds to nearest
	k := int(kf) - 1024
	r := x - float64(k)*math.Ln2
	// Estrin's scheme: the same polynomial as Horner's rule with a dependency chain half as
	// long, so more exponentials overlap in the out-of-order window.
	r2 := r * r
	p := (1 + r) + r2*((1.0/2+r*(1.0/6))+r2*((1.0/24+r*(1.0/120))+r2*(1.0/720+r*(1.0/5040))))
	return p * math.Float64frombits(uint64(k+1023)<<52)
}

// clampExp clamps an exponent to the range expCore accepts; results there already overflow or
// underflow float32. NaN passes through.
func clampExp(x float64) float64 {
	if x > 700 {
		return 700
	}
	if x < -700 {
		return -700
	}
	return x
}

// expBlock is the number of elements the blocked elementwise functions below handle per call;
// their scratch arrays of this size live on the caller's stack.
const expBlock = 256

// expSlice replaces every x[i] by e^x[i], clamped to expCore's range first. Its loop inlines
// expCore, so that consecutive exponentials overlap in the pipeline: called once per element
// through a non-inlined function, the exponential is latency-bound and costs 20 ns instead of
// 5.5 ns on the measured machine. The functions below therefore work on blocks: compute the
// arguments, exponentiate the block, combine.
func expSlice(x []float64) {
	for i, v := range x {
		x[i] = expCore(clampExp(v))
	}
}

// sigmoids writes σ(x[i]) = 1/(1 + e^−x[i]) into out[i] (relative error ≤ 2e-8; exact for
// float64 x, see isDouble); len(out) == len(x).
func sigmoids[T Float](x []T, out []float64) {
	out = out[:len(x)]
	if isDouble[T]() {
		for i, v := range x {
			out[i] = 1 / (1 + math.Exp(-float64(v)))
		}
		return
	}
	for i, v := range x {
		out[i] = -float64(v)
	}
	expSlice(out)
	for i, e := range out {
		out[i] = 1 / (1 + e)
	}
}

// tanhsOf is tanhs for the kernels of element type T: math.Tanh for float64 (see isDouble).
func tanhsOf[T Float](x, out []float64) {
	if isDouble[T]() {
		out = out[:len(x)]
		for i, v := range x {
			out[i] = math.Tanh(v)
		}
		return
	}
	tanhs(x, out)
}

// tanhs writes tanh(x[i]) into out[i] (out may be x): an odd Taylor polynomial for |x| < 1/8
// (truncation below 2e-10 relative), else sign(x)·(1 − 2/(e^{2|x|} + 1)), whose relative error
// is largest just above 1/8 (below 5e-8, TestFastMath).
func tanhs(x, out []float64) {
	out = out[:len(x)]
	var e [expBlock]float64
	for i, v := range x {
		e[i] = 2 * math.Abs(v)
	}
	expSlice(e[:len(x)])
	for i, v := range x {
		if math.Abs(v) < 0.125 {
			v2 := v * v
			out[i] = v * (1 + v2*(-1.0/3+v2*(2.0/15+v2*(-17.0/315))))
			continue
		}
		out[i] = math.Copysign(1-2/(e[i]+1), v)
	}
}

// erfcP0 … erfcP10 are the coefficients, in increasing powers of t, of
// P(t) = log(erfc(z)/t) + z² with t = 1/(1 + z/2): a degree-10 least-squares fit on z ∈ [0, 10]
// made for this package (numpy polyfit against Python's math.erfc on 6,000 Chebyshev nodes of
// t ∈ [1/6, 1]); the fitted erfc has a relative error below 1e-8 there. The form
// t·exp(−z² + P(t)) is that of the classical Chebyshev-fitted erfc (Numerical Recipes §6.2); the
// coefficients are our own.
const (
	erfcP0  = -1.2655780417111264
	erfcP1  = 1.0018182174190358
	erfcP2  = 0.35320147895803028
	erfcP3  = 0.23292450780814133
	erfcP4  = -0.73614373510341868
	erfcP5  = 1.7205867155515966
	erfcP6  = -3.6302095739326408
	erfcP7  = 4.3149716987924114
	erfcP8  = -2.8369157991690472
	erfcP9  = 0.99025784126008864
	erfcP10 = -0.14491330758196319
)

// normCDFs writes Φ(x[i]) = (1 + erf(x[i]/√2))/2, the standard normal CDF, into cdf[i], and
// when pdf is not nil the density φ(x[i]) = e^{−x²/2}/√(2π) into pdf[i]. Φ is computed as
// erfc(|x|/√2)/2 (or 1 minus it for x > 0) with the fitted erfc ≈ t·e^{−z² + P(t)}: relative
// error below 3e-8 wherever Φ is above float32's smallest subnormal; for z = |x|/√2 > 10 the
// erfc term is 0 (it is below 2.1e-45 there). A NaN x gives NaN. float64 x is evaluated
// exactly with the math package (see isDouble).
func normCDFs[T Float](x []T, cdf, pdf []float64) {
	if isDouble[T]() {
		normCDFsExact(x, cdf, pdf)
		return
	}
	cdf = cdf[:len(x)]
	var t [expBlock]float64
	for i, v := range x {
		z := math.Abs(float64(v)) * (1 / math.Sqrt2)
		ti := 1 / (1 + 0.5*z)
		t[i] = ti
		// P(t) by Estrin's scheme (see expCore).
		t2 := ti * ti
		t4 := t2 * t2
		p := (erfcP0 + erfcP1*ti) + t2*(erfcP2+erfcP3*ti) +
			t4*((erfcP4+erfcP5*ti)+t2*(erfcP6+erfcP7*ti)) +
			t4*t4*((erfcP8+erfcP9*ti)+t2*erfcP10)
		cdf[i] = p - z*z
	}
	expSlice(cdf)
	for i, v := range x {
		h := 0.5 * t[i] * cdf[i]
		if math.Abs(float64(v)) > 10*math.Sqrt2 {
			h = 0
		}
		if v > 0 {
			h = 1 - h
		}
		cdf[i] = h
		if v != v {
			cdf[i] = float64(v)
		}
	}
	if pdf == nil {
		return
	}
	pdf = pdf[:len(x)]
	for i, v := range x {
		pdf[i] = -0.5 * float64(v) * float64(v)
	}
	expSlice(pdf)
	for i := range pdf {
		pdf[i] *= 0.3989422804014327 // 1/√(2π)
	}
}

// normCDFsExact is normCDFs with math.Erfc and math.Exp.
func normCDFsExact[T Float](x []T, cdf, pdf []float64) {
	for i, v := range x {
		z := float64(v)
		cdf[i] = 0.5 * math.Erfc(-z/math.Sqrt2)
		if pdf != nil {
			pdf[i] = math.Exp(-0.5*z*z) * 0.3989422804014327 // 1/√(2π)
		}
	}
}
