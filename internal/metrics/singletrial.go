package metrics

import (
	"fmt"
	"math"
)

// SensoriumSkipFrames is the number of frames at the start of every trial that the SENSORIUM
// 2023 benchmark leaves unscored (MODEL.md 9.6: frames 50 … T−1 are scored).
const SensoriumSkipFrames = 50

// sensoriumEps is the ε added to each standard deviation in the SENSORIUM correlation
// (neuralpredictors' corr, MODEL.md 9.6).
const sensoriumEps = 1e-8

// SingleTrialCorrelation accumulates the SENSORIUM 2023 single-trial correlation of one mouse
// (MODEL.md 9.6). The benchmark concatenates the scored frames of all test trials in time and
// correlates, per neuron, prediction and response over those pooled samples k:
//
//	ρ = mean_k[ (x_k − x̄)/(σ_x + ε) · (p_k − p̄)/(σ_p + ε) ],   σ with ddof 0, ε = 1e-8
//
// with a NaN correlation replaced by 0. The benchmark scores responses normalised as its
// loader does (MODEL.md 11.4); pass them, and predictions on the same scale. The accumulator keeps per-neuron running means and
// co-moments instead of the concatenated samples (trials are merged with the pairwise update of
// Chan, Golub and LeVeque), so memory does not grow with the number of trials. A sample where
// the response or the prediction is NaN is left out for that neuron (MODEL.md 11.5). The zero
// value is not usable; use NewSingleTrialCorrelation.
type SingleTrialCorrelation struct {
	neurons int
	skip    int

	// Running statistics per neuron, [N]: sample count, means, sums of squared deviations
	// and the co-moment Σ (x − x̄)(p − p̄).
	n, mx, mp, m2x, m2p, cxp []float64

	// The same statistics for the trial being added, [N]; reused across trials.
	bn, bmx, bmp, bm2x, bm2p, bcxp []float64
}

// NewSingleTrialCorrelation returns an empty accumulator for a mouse with the given number of
// neurons that leaves the first skip frames of every trial unscored (SensoriumSkipFrames for
// the benchmark).
func NewSingleTrialCorrelation(neurons, skip int) (*SingleTrialCorrelation, error) {
	if neurons < 1 {
		return nil, fmt.Errorf("single-trial correlation: %d neurons, want at least 1", neurons)
	}
	if skip < 0 {
		return nil, fmt.Errorf("single-trial correlation: skip %d frames, want 0 or more", skip)
	}
	buf := make([]float64, 12*neurons)
	next := func() []float64 {
		b := buf[:neurons:neurons]
		buf = buf[neurons:]
		return b
	}
	return &SingleTrialCorrelation{
		neurons: neurons, skip: skip,
		n: next(), mx: next(), mp: next(), m2x: next(), m2p: next(), cxp: next(),
		bn: next(), bmx: next(), bmp: next(), bm2x: next(), bm2p: next(), bcxp: next(),
	}, nil
}

// Add adds one test trial. pred and resp are row-major [frames, N]; frames before the skip are
// ignored, so a trial no longer than the skip contributes nothing.
func (s *SingleTrialCorrelation) Add(pred, resp []float32, frames int) error {
	if frames < 0 || len(pred) != frames*s.neurons || len(resp) != frames*s.neurons {
		return fmt.Errorf("single-trial correlation: %d prediction and %d response values, want %d frames × %d neurons: %w",
			len(pred), len(resp), frames, s.neurons, ErrShape)
	}
	if frames <= s.skip {
		return nil
	}
	nn := s.neurons
	from := s.skip * nn
	pred, resp = pred[from:], resp[from:]
	scored := frames - s.skip

	// Pass 1: the trial's per-neuron counts and means (frames outer, neurons inner: contiguous).
	bn, bmx, bmp := s.bn, s.bmx, s.bmp
	for i := range bn {
		bn[i], bmx[i], bmp[i] = 0, 0, 0
	}
	for k := 0; k < scored; k++ {
		x, p := resp[k*nn:(k+1)*nn], pred[k*nn:(k+1)*nn]
		for i, xv := range x {
			if xv == xv && p[i] == p[i] {
				bn[i]++
				bmx[i] += float64(xv)
				bmp[i] += float64(p[i])
			}
		}
	}
	for i, c := range bn {
		if c > 0 {
			bmx[i] /= c
			bmp[i] /= c
		}
	}

	// Pass 2: centred second moments of the trial.
	bm2x, bm2p, bcxp := s.bm2x, s.bm2p, s.bcxp
	for i := range bm2x {
		bm2x[i], bm2p[i], bcxp[i] = 0, 0, 0
	}
	for k := 0; k < scored; k++ {
		x, p := resp[k*nn:(k+1)*nn], pred[k*nn:(k+1)*nn]
		for i, xv := range x {
			if xv == xv && p[i] == p[i] {
				dx := float64(xv) - bmx[i]
				dp := float64(p[i]) - bmp[i]
				bm2x[i] += dx * dx
				bm2p[i] += dp * dp
				bcxp[i] += dx * dp
			}
		}
	}

	// Merge the trial into the running statistics (Chan et al. 1979, pairwise update).
	for i, nb := range bn {
		if nb == 0 {
			continue
		}
		na := s.n[i]
		n := na + nb
		dx := bmx[i] - s.mx[i]
		dp := bmp[i] - s.mp[i]
		w := na * nb / n
		s.m2x[i] += bm2x[i] + dx*dx*w
		s.m2p[i] += bm2p[i] + dp*dp*w
		s.cxp[i] += bcxp[i] + dx*dp*w
		s.mx[i] += dx * nb / n
		s.mp[i] += dp * nb / n
		s.n[i] = n
	}
	return nil
}

// PerNeuron returns the correlation of every neuron, [N]. A neuron with no scored sample, or
// whose correlation is otherwise NaN, gets 0, as in the benchmark. A constant prediction or
// response gives 0 (the ε keeps the ratio finite).
func (s *SingleTrialCorrelation) PerNeuron() []float64 {
	rho := make([]float64, s.neurons)
	for i, n := range s.n {
		if n == 0 {
			continue
		}
		sx := math.Sqrt(s.m2x[i] / n)
		sp := math.Sqrt(s.m2p[i] / n)
		v := (s.cxp[i] / n) / ((sx + sensoriumEps) * (sp + sensoriumEps))
		if v == v {
			rho[i] = v
		}
	}
	return rho
}

// PooledMean returns the benchmark score over several mice: the mean over all neurons of all
// mice pooled, so mice weigh by their neuron count (MODEL.md 9.6), not a mean of per-mouse
// means. Each argument holds one mouse's per-neuron correlations; NaN entries are skipped.
// The result is NaN when there is no neuron.
func PooledMean(mice ...[]float64) float64 {
	var sum float64
	n := 0
	for _, m := range mice {
		for _, v := range m {
			if v == v {
				sum += v
				n++
			}
		}
	}
	return nanDiv(sum, n)
}
