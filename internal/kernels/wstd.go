package kernels

import (
	"fmt"
	"math"
)

// WeightStdEps is the ε of weight standardization (MODEL.md 1.4).
const WeightStdEps = 1e-5

// WeightStd describes scaled weight standardization (MODEL.md 1.4) of O weight rows with fan-in
// F (for a convolution weight [O, C/G, KT, KH, KW], F = C/G·KT·KH·KW):
//
//	ŵ_o = g_o · (w_o − mean(w_o)) / sqrt(F·var(w_o) + ε),   ε = 1e-5, var the population variance
//
// so that mean(ŵ_o) = 0 and ‖ŵ_o‖² = g_o²·F·var/(F·var + ε). The gain g [O] is optional (a nil
// gain means g = 1, the layers "without gain"). Row statistics are accumulated in float64.
type WeightStd struct {
	O, F int
}

// WeightStdForward writes the standardized weights into out (overwritten).
// Shapes: w [O, F], gain [O] or nil, out [O, F].
func WeightStdForward[T Float](s WeightStd, w, gain, out []T) error {
	const kernel = "weight standardization forward"
	if err := checkWeightStd(s, kernel, w, gain, out, "out"); err != nil {
		return err
	}
	for o := 0; o < s.O; o++ {
		row := w[o*s.F:][:s.F]
		mean, inv := rowStats(row)
		if gain != nil {
			inv *= float64(gain[o])
		}
		dst := out[o*s.F:][:s.F]
		for i, v := range row {
			dst[i] = T((float64(v) - mean) * inv)
		}
	}
	return nil
}

// WeightStdBackward computes dw and dgain, the gradients of the loss with respect to w and gain, from
// dout, the gradient with respect to the standardized weights. Both are overwritten; dgain must
// be nil exactly when gain is.
// Shapes: w [O, F], gain [O] or nil, dout [O, F], dw [O, F], dgain [O] or nil.
//
// With x̄ = w − mean, S = Σx̄², u = x̄/sqrt(S+ε) and du = g·dout:
// dg = Σ dout·u, dx̄ = (du − x̄·Σ(du·x̄)/(S+ε))/sqrt(S+ε), dw = dx̄ − mean(dx̄).
func WeightStdBackward[T Float](s WeightStd, w, gain, dout, dw, dgain []T) error {
	const kernel = "weight standardization backward"
	if err := checkWeightStd(s, kernel, w, gain, dout, "dout"); err != nil {
		return err
	}
	if err := checkLen(kernel, "dw", len(dw), s.O*s.F); err != nil {
		return err
	}
	if (gain == nil) != (dgain == nil) {
		return fmt.Errorf("%s: gain and dgain must both be given or both be nil: %w", kernel, ErrShape)
	}
	if dgain != nil {
		if err := checkLen(kernel, "dgain", len(dgain), s.O); err != nil {
			return err
		}
	}
	for o := 0; o < s.O; o++ {
		row, drow, dst := w[o*s.F:][:s.F], dout[o*s.F:][:s.F], dw[o*s.F:][:s.F]
		mean, inv := rowStats(row)
		g := 1.0
		if gain != nil {
			g = float64(gain[o])
		}
		// Σ dout·x̄ gives both dg (times inv) and Σ du·x̄ (times g).
		var dx float64
		for i, v := range row {
			dx += float64(drow[i]) * (float64(v) - mean)
		}
		if dgain != nil {
			dgain[o] = T(dx * inv)
		}
		// inv² = 1/(S+ε).
		c := g * dx * inv * inv
		var sum float64
		for i, v := range row {
			d := (g*float64(drow[i]) - (float64(v)-mean)*c) * inv
			dst[i] = T(d)
			sum += d
		}
		m := T(sum / float64(s.F))
		for i := range dst {
			dst[i] -= m
		}
	}
	return nil
}

// Validate reports whether the sizes are usable.
func (s WeightStd) Validate() error { return checkPositive("weight standardization", "O, F", s.O, s.F) }

// check validates sizes and slice lengths.
func checkWeightStd[T Float](s WeightStd, kernel string, w, gain, out []T, outName string) error {
	if err := checkPositive(kernel, "O, F", s.O, s.F); err != nil {
		return err
	}
	if err := checkLen(kernel, "w", len(w), s.O*s.F); err != nil {
		return err
	}
	if gain != nil {
		if err := checkLen(kernel, "gain", len(gain), s.O); err != nil {
			return err
		}
	}
	return checkLen(kernel, outName, len(out), s.O*s.F)
}

// rowStats returns the mean of row and 1/sqrt(S + ε), S the sum of squared deviations
// (F·var), computed in float64 in two passes.
func rowStats[T Float](row []T) (mean, inv float64) {
	mean = sum64(row) / float64(len(row))
	var ss float64
	for _, v := range row {
		d := float64(v) - mean
		ss += d * d
	}
	return mean, 1 / math.Sqrt(ss+WeightStdEps)
}
