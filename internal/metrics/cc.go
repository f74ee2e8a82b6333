package metrics

import (
	"errors"
	"fmt"
	"math"
)

// Float is the element type the slice metrics accept: float32 for model outputs and recordings,
// float64 for data already converted.
type Float interface {
	~float32 | ~float64
}

// ErrShape reports a slice whose length disagrees with the sizes passed with it.
var ErrShape = errors.New("shape mismatch")

// CCAbs returns the correlation between the repeat-averaged prediction and the repeat-averaged
// response of one unit (MODEL.md 9.2):
//
//	CC_abs = pearson( nanmean_repeats(pred), nanmean_repeats(resp) )
//
// pred and resp are row-major [r, t] (r repeats, t samples). Samples where either repeat
// average is NaN (no valid repeat) are left out of the correlation; the reference returns NaN
// there. The result is NaN when fewer than two samples remain or either average is constant.
func CCAbs[F Float](pred, resp []F, r, t int) (float64, error) {
	if err := checkRepeats("cc_abs", pred, resp, r, t); err != nil {
		return math.NaN(), err
	}
	s := newScratch(t)
	columnMeans(pred, r, t, s.pm, s.pcnt)
	columnMeans(resp, r, t, s.xm, s.cnt)
	return pearsonValid(s.pm, s.xm), nil
}

// CCMax returns the upper bound of the correlation any model can reach on one unit's noisy
// repeats: the signal-power estimator of Schoppe et al. 2016 with effective repeats
// (MODEL.md 9.3). resp is row-major [r, t] and may contain NaN:
//
//	t_j    = number of non-NaN repeats at sample j
//	n      = sqrt( Σ_j (t_j − 1) / Σ_j (t_j − 1)/t_j² )      (n = r exactly on complete data)
//	ȳ      = nanmean over repeats,  P = var(ȳ) with ddof 1
//	TP     = mean over repeats of nanvar over time, ddof 1
//	SP     = (n·P − TP) / (n − 1)
//	CC_max = sqrt( SP / var(ȳ) ),   the denominator with ddof 0
//
// The result is NaN when SP < 0 (noise dominates; the reference prints a warning, this function
// stays silent), when ȳ is constant, or when no sample has two valid repeats. Samples with no
// valid repeat are left out, and so are repeats with fewer than two valid samples from TP; the
// reference returns NaN in both cases.
func CCMax[F Float](resp []F, r, t int) (float64, error) {
	if err := checkRepeats("cc_max", resp, resp, r, t); err != nil {
		return math.NaN(), err
	}
	s := newScratch(t)
	columnMeans(resp, r, t, s.xm, s.cnt)
	return ccMax(resp, r, t, s.xm, s.cnt), nil
}

// CCNorm returns CCAbs / CCMax for one unit (MODEL.md 9.4). It can exceed 1; the summary over
// units is the median (see Median). pred and resp are row-major [r, t].
func CCNorm[F Float](pred, resp []F, r, t int) (float64, error) {
	if err := checkRepeats("cc_norm", pred, resp, r, t); err != nil {
		return math.NaN(), err
	}
	s := newScratch(t)
	columnMeans(pred, r, t, s.pm, s.pcnt)
	columnMeans(resp, r, t, s.xm, s.cnt)
	return pearsonValid(s.pm, s.xm) / ccMax(resp, r, t, s.xm, s.cnt), nil
}

// scratch holds the per-sample buffers of one unit's metrics, so that Oracle can score
// thousands of units without allocating per unit.
type scratch struct {
	pm, xm []float64 // [T] repeat means of prediction and response
	acc    []float64 // [T] per-sample accumulator (FEVE noise variance)
	cnt    []int     // [T] valid response repeats per sample
	pcnt   []int     // [T] valid prediction repeats per sample
}

func newScratch(t int) *scratch {
	s := &scratch{}
	s.resize(t)
	return s
}

// resize makes every buffer hold t samples, reusing the backing arrays when they are large
// enough.
func (s *scratch) resize(t int) {
	if cap(s.pm) < t {
		s.pm = make([]float64, t)
		s.xm = make([]float64, t)
		s.acc = make([]float64, t)
		s.cnt = make([]int, t)
		s.pcnt = make([]int, t)
	}
	s.pm, s.xm, s.acc = s.pm[:t], s.xm[:t], s.acc[:t]
	s.cnt, s.pcnt = s.cnt[:t], s.pcnt[:t]
}

// checkRepeats validates two row-major [r, t] slices of one unit.
func checkRepeats[F Float](what string, pred, resp []F, r, t int) error {
	if r < 1 || t < 1 {
		return fmt.Errorf("%s: %d repeats × %d samples, want at least 1 × 1: %w", what, r, t, ErrShape)
	}
	if len(pred) != r*t || len(resp) != r*t {
		return fmt.Errorf("%s: %d prediction and %d response values, want %d repeats × %d samples = %d: %w",
			what, len(pred), len(resp), r, t, r*t, ErrShape)
	}
	return nil
}

// columnMeans writes the NaN-ignoring mean over the r rows of x [r, t] into mean [t] (NaN where
// a column has no valid value) and the number of valid values per column into cnt [t].
func columnMeans[F Float](x []F, r, t int, mean []float64, cnt []int) {
	for j := range mean {
		mean[j] = 0
		cnt[j] = 0
	}
	// Row-outer loop: the reads of x stay contiguous.
	for i := 0; i < r; i++ {
		for j, v := range x[i*t : (i+1)*t] {
			if v == v {
				mean[j] += float64(v)
				cnt[j]++
			}
		}
	}
	for j := range mean {
		mean[j] = nanDiv(mean[j], cnt[j])
	}
}

// nanDiv returns sum/n, or NaN when n is zero.
func nanDiv(sum float64, n int) float64 {
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// pearsonValid returns the Pearson correlation of a and b over the indices where both are
// non-NaN, or NaN when fewer than two such indices exist or either side is constant.
func pearsonValid(a, b []float64) float64 {
	var sa, sb float64
	n := 0
	for j := range a {
		if a[j] == a[j] && b[j] == b[j] {
			sa += a[j]
			sb += b[j]
			n++
		}
	}
	if n < 2 {
		return math.NaN()
	}
	ma, mb := sa/float64(n), sb/float64(n)
	var saa, sbb, sab float64
	for j := range a {
		if a[j] == a[j] && b[j] == b[j] {
			da, db := a[j]-ma, b[j]-mb
			saa += da * da
			sbb += db * db
			sab += da * db
		}
	}
	if saa == 0 || sbb == 0 {
		return math.NaN()
	}
	return sab / math.Sqrt(saa*sbb)
}

// ccMax evaluates MODEL.md 9.3 given the column means ym [t] and valid counts cnt [t] of
// x [r, t].
func ccMax[F Float](x []F, r, t int, ym []float64, cnt []int) float64 {
	n := effectiveRepeats(cnt)
	if math.IsNaN(n) {
		return math.NaN()
	}

	// P and var0 over the samples with at least one valid repeat.
	var sum float64
	valid := 0
	for j, c := range cnt {
		if c > 0 {
			sum += ym[j]
			valid++
		}
	}
	if valid < 2 {
		return math.NaN()
	}
	mean := sum / float64(valid)
	var ss float64
	for j, c := range cnt {
		if c > 0 {
			d := ym[j] - mean
			ss += d * d
		}
	}
	p := ss / float64(valid-1)
	var0 := ss / float64(valid)

	tp := meanRowVariance(x, r, t)
	sp := (n*p - tp) / (n - 1)
	if !(sp >= 0) || var0 == 0 {
		return math.NaN()
	}
	return math.Sqrt(sp / var0)
}

// effectiveRepeats returns n of MODEL.md 9.3 from the valid-repeat counts per sample; samples
// without a valid repeat are skipped. It is NaN when no sample has two valid repeats. When every
// sample has the same count c the formula reduces to c, and c is returned exactly: the
// floating-point sums would otherwise give c ± 1 ulp (MODEL.md 12.6: "n = R exactly").
func effectiveRepeats(cnt []int) float64 {
	var num, den float64
	lo, hi := math.MaxInt, 0
	for _, c := range cnt {
		if c > 0 {
			tj := float64(c)
			num += tj - 1
			den += (tj - 1) / (tj * tj)
			lo, hi = min(lo, c), max(hi, c)
		}
	}
	if den == 0 {
		return math.NaN()
	}
	if lo == hi {
		return float64(lo)
	}
	return math.Sqrt(num / den)
}

// meanRowVariance returns the mean over the rows of x [r, t] of each row's NaN-ignoring variance
// over time (ddof 1). Rows with fewer than two valid values are skipped; NaN if none remain.
func meanRowVariance[F Float](x []F, r, t int) float64 {
	var total float64
	rows := 0
	for i := 0; i < r; i++ {
		v := nanVariance(x[i*t : (i+1)*t])
		if v == v {
			total += v
			rows++
		}
	}
	return nanDiv(total, rows)
}

// nanVariance returns the NaN-ignoring variance of x with ddof 1, NaN with fewer than two valid
// values.
func nanVariance[F Float](x []F) float64 {
	var sum float64
	n := 0
	for _, v := range x {
		if v == v {
			sum += float64(v)
			n++
		}
	}
	if n < 2 {
		return math.NaN()
	}
	mean := sum / float64(n)
	var ss float64
	for _, v := range x {
		if v == v {
			d := float64(v) - mean
			ss += d * d
		}
	}
	return ss / float64(n-1)
}
