// Package metrics scores predicted neural responses against recorded ones.
//
// It implements the evaluation metrics of MODEL.md section 9 and the Poisson loss of 4.7 / 9.9
// on plain slices, with no dependency on the model or the data packages:
//
//   - CCAbs, CCMax and CCNorm (9.2–9.4): the reference's test protocol on repeated ("oracle")
//     clips. Oracle accumulates trials clip by clip, drops the burn-in frames, pads clips with
//     fewer repeats by whole NaN repeats and concatenates the clips in time (9.1), then scores
//     every unit.
//   - FEVE (9.8), the fraction of explainable variance explained, on the same repeated data.
//   - SingleTrialCorrelation (9.6), the SENSORIUM 2023 benchmark metric, and PooledMean.
//   - PoissonLoss (4.7, 9.9), the training-time metric.
//   - Median and Quantile, NaN-aware order statistics for reports.
//
// # Shapes
//
// One unit's repeated data is a row-major [R, T] slice: R repeats, T time samples; NaN marks a
// missing value (a padded repeat, a dropped sample). One trial of a whole population is a
// row-major [T, U] slice (frames × units), the order in which the network emits one [U]
// response per frame; SENSORIUM calls its units neurons and writes [T, N].
//
// # Numerics
//
// Inputs are float32 (model outputs, recordings) or float64; every sum, mean and variance is
// accumulated in float64, with two-pass (centred) formulas so that large offsets do not cancel.
//
// # NaN policy
//
// MODEL.md 11.5: NaN values are masked out of every metric. Where the reference code would
// return NaN only because of a NaN in its input (a time sample with no valid repeat, a repeat
// with fewer than two valid samples), this package drops that sample or repeat instead and
// documents it at the function. On data without such gaps every function equals the reference
// formula; the golden test in metrics_golden_test.go checks this against an independent numpy
// implementation (testdata/make_golden.py).
package metrics
