package metrics

import (
	"fmt"
	"math"
	"slices"
)

// PoissonLoss returns the mean Poisson loss exp(r) − y·r (MODEL.md 4.7; the log y! term is
// dropped) over the elements whose target y is not NaN, and the number of such elements, so
// that callers can combine batches as count-weighted means. logRate holds the log-rates r and
// target the responses y, both of any shape but equal length. The mean is NaN when count is 0.
// On mean-scaled data the constant rate 1 (r = 0) scores exactly 1, the baseline (9.9).
func PoissonLoss[F Float](logRate, target []F) (mean float64, count int, err error) {
	if len(logRate) != len(target) {
		return math.NaN(), 0, fmt.Errorf("poisson loss: %d log-rates and %d targets: %w", len(logRate), len(target), ErrShape)
	}
	var sum float64
	for i, y := range target {
		if y != y {
			continue
		}
		r := float64(logRate[i])
		sum += math.Exp(r) - float64(y)*r
		count++
	}
	return nanDiv(sum, count), count, nil
}

// Median returns the median of the non-NaN values of x, NaN when there is none. x is not
// modified.
func Median(x []float64) float64 {
	return Quantile(x, 0.5)
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of the non-NaN values of x with linear
// interpolation between order statistics (numpy's default "linear" method): the value at
// position q·(n−1) of the sorted values. It returns NaN when there is no value or q is outside
// [0, 1]. x is not modified.
func Quantile(x []float64, q float64) float64 {
	if !(q >= 0 && q <= 1) {
		return math.NaN()
	}
	v := make([]float64, 0, len(x))
	for _, e := range x {
		if e == e {
			v = append(v, e)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	pos := q * float64(len(v)-1)
	lo := int(math.Floor(pos))
	if lo >= len(v)-1 {
		return v[len(v)-1]
	}
	frac := pos - float64(lo)
	return v[lo] + frac*(v[lo+1]-v[lo])
}
