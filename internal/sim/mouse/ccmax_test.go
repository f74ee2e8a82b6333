package mouse

import "math"

// ccMax is the Schoppe et al. (2016) CC_max of MODEL.md 9.3 for complete data x [R][T]:
// with every repeat present the effective number of repeats is R.
func ccMax(x [][]float64) float64 {
	R, T := len(x), len(x[0])
	mean := make([]float64, T)
	for _, xr := range x {
		for t, v := range xr {
			mean[t] += v / float64(R)
		}
	}
	tp := 0.0
	for _, xr := range x {
		tp += variance(xr, 1) / float64(R)
	}
	n := float64(R)
	sp := (n*variance(mean, 1) - tp) / (n - 1)
	if sp < 0 {
		return math.NaN()
	}
	return math.Sqrt(sp / variance(mean, 0))
}

// variance returns the variance of x with the given delta degrees of freedom.
func variance(x []float64, ddof int) float64 {
	m := 0.0
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	s := 0.0
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return s / float64(len(x)-ddof)
}
