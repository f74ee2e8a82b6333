package metrics

import "math"

// FEVThreshold is the fraction of explainable variance (FEV) a unit needs before its FEVE is
// scored (MODEL.md 9.8, neuralpredictors' convention).
const FEVThreshold = 0.15

// FEVE returns the fraction of explainable variance (FEV) of one unit's responses and the
// fraction of that explainable variance the prediction explains (FEVE), MODEL.md 9.8:
//
//	σ²_noise = mean over stimuli j of var_r(x_{r,j}),   ddof 1
//	σ²_total = var over all repeated trials,           ddof 1
//	MSE      = mean over all repeated trials of (x − p)²
//	FEV      = (σ²_total − σ²_noise) / σ²_total
//	FEVE     = 1 − (MSE − σ²_noise) / (σ²_total − σ²_noise)
//
// pred and resp are row-major [r, t]. The definition comes from static images, one stimulus per
// image; for video this package treats each time sample j (one frame of one clip, after
// burn-in) as one stimulus whose repeats are the non-NaN entries of column j. That is a project
// choice, not an official definition (MODEL.md 9.8). Stimuli with fewer than two valid repeats
// are left out of σ²_noise, and entries where either pred or resp is NaN out of MSE and
// σ²_total. Only units with FEV ≥ FEVThreshold should be scored; see MeanFEVE.
func FEVE[F Float](pred, resp []F, r, t int) (fev, feve float64, err error) {
	if err := checkRepeats("feve", pred, resp, r, t); err != nil {
		return math.NaN(), math.NaN(), err
	}
	s := newScratch(t)
	columnMeans(resp, r, t, s.xm, s.cnt)
	fev, feve = feveUnit(s, pred, resp, r, t)
	return fev, feve, nil
}

// MeanFEVE returns the mean FEVE over the units whose FEV is at least threshold (normally
// FEVThreshold) and whose FEVE is not NaN, together with the number of units kept. fev and feve
// are per unit [U]; the mean is NaN when no unit is kept.
func MeanFEVE(fev, feve []float64, threshold float64) (mean float64, kept int) {
	var sum float64
	for u := range fev {
		if u < len(feve) && fev[u] >= threshold && feve[u] == feve[u] {
			sum += feve[u]
			kept++
		}
	}
	return nanDiv(sum, kept), kept
}

// feveUnit evaluates FEVE given the response column means s.xm and counts s.cnt; it uses s.acc
// as the per-stimulus accumulator.
func feveUnit[F Float](s *scratch, pred, resp []F, r, t int) (fev, feve float64) {
	acc := s.acc
	for j := range acc {
		acc[j] = 0
	}
	var sum, sse float64
	n := 0
	for i := 0; i < r; i++ {
		x, p := resp[i*t:(i+1)*t], pred[i*t:(i+1)*t]
		for j, v := range x {
			if v != v {
				continue
			}
			xv := float64(v)
			d := xv - s.xm[j]
			acc[j] += d * d
			if p[j] == p[j] {
				e := xv - float64(p[j])
				sse += e * e
				sum += xv
				n++
			}
		}
	}

	// σ²_noise: mean over stimuli with two or more repeats of their repeat variance.
	var noise float64
	stimuli := 0
	for j, c := range s.cnt {
		if c >= 2 {
			noise += acc[j] / float64(c-1)
			stimuli++
		}
	}
	noise = nanDiv(noise, stimuli)

	// σ²_total over the same entries as the MSE (both values valid), centred on their mean.
	if n < 2 {
		return math.NaN(), math.NaN()
	}
	mean := sum / float64(n)
	var ss float64
	for i := 0; i < r; i++ {
		x, p := resp[i*t:(i+1)*t], pred[i*t:(i+1)*t]
		for j, v := range x {
			if v == v && p[j] == p[j] {
				d := float64(v) - mean
				ss += d * d
			}
		}
	}
	total := ss / float64(n-1)
	mse := sse / float64(n)
	return (total - noise) / total, 1 - (mse-noise)/(total-noise)
}
