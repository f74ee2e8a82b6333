package data

import (
	"fmt"
	"strings"
)

// NaNPolicy says how missing behaviour and eye values are handled (MODEL.md 11.5):
// short gaps are filled by linear interpolation, and a trial is rejected when one of its
// four traces (pupil radius, running speed, eye x, eye y) is missing at more than
// MaxMissing of its frames. Response NaN is never filled: it stays NaN in the targets
// and is masked out of the loss and the metrics.
type NaNPolicy struct {
	// MaxMissing is the largest fraction of NaN frames a trace may have, in [0, 1]; the
	// default 0.5 rejects a trial whose behaviour is mostly missing. 0 rejects any gap.
	// A trace with no valid value at all is rejected whatever the setting: there is
	// nothing to interpolate from.
	MaxMissing float64
}

// DefaultNaNPolicy returns the default policy: reject beyond 50 % missing frames.
func DefaultNaNPolicy() NaNPolicy { return NaNPolicy{MaxMissing: 0.5} }

// Validate reports an out-of-range MaxMissing.
func (p NaNPolicy) Validate() error {
	if !(p.MaxMissing >= 0 && p.MaxMissing <= 1) { // also rejects NaN
		return fmt.Errorf("nan policy: max missing fraction %v, want a value in [0, 1]", p.MaxMissing)
	}
	return nil
}

// Rejection is one trial left out because a trace was mostly missing.
type Rejection struct {
	Trial   string  // trial id
	Tier    Tier    // its tier
	Trace   string  // "pupil", "running", "eye x" or "eye y"
	Missing float64 // fraction of the trace's frames that are NaN
}

// String formats the rejection as "trial 12 (train): running 73% missing".
func (r Rejection) String() string {
	return fmt.Sprintf("trial %s (%s): %s %.0f%% missing", r.Trial, r.Tier, r.Trace, 100*r.Missing)
}

// Report counts what preparing a session did to its data, for the CLI to print.
type Report struct {
	Session  SessionID
	Scanned  int         // trials read
	Rejected []Rejection // trials left out by the NaN policy, in trial order
	// Filled counts the NaN values replaced by interpolation, per trace, over the
	// trials kept.
	FilledPupil, FilledRunning, FilledEye int
	// ResponseNaN counts the NaN response values of the trials kept (kept as NaN).
	ResponseNaN int64
	// StatsTrials is the number of training trials the statistics were computed from;
	// 0 when the statistics were given (e.g. read from a checkpoint).
	StatsTrials int
	// ClippedUnits counts units whose training mean was below MinScale (scale clipped);
	// EmptyUnits counts units with no valid training response at all (scale 1).
	ClippedUnits, EmptyUnits int
}

// String summarises the report on one line.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "session %s: %d trials read, %d rejected for missing behaviour", r.Session, r.Scanned, len(r.Rejected))
	fmt.Fprintf(&b, "; filled %d pupil, %d running, %d eye values", r.FilledPupil, r.FilledRunning, r.FilledEye)
	fmt.Fprintf(&b, "; %d NaN responses masked", r.ResponseNaN)
	if r.StatsTrials > 0 {
		fmt.Fprintf(&b, "; statistics from %d training trials", r.StatsTrials)
	}
	if r.ClippedUnits > 0 || r.EmptyUnits > 0 {
		fmt.Fprintf(&b, " (%d unit scales clipped, %d units without data)", r.ClippedUnits, r.EmptyUnits)
	}
	return b.String()
}

// nTraces is the number of traces the NaN policy checks: pupil, running, eye x, eye y.
const nTraces = 4

// trace returns the i-th behaviour trace of t (i < nTraces) as a strided view (values,
// stride, offset) and its name.
func trace(t *Trial, i int) (xs []float32, stride, off int, name string) {
	switch i {
	case 0:
		return t.Pupil, 1, 0, "pupil"
	case 1:
		return t.Running, 1, 0, "running"
	case 2:
		return t.Eye, 2, 0, "eye x"
	default:
		return t.Eye, 2, 1, "eye y"
	}
}

// checkNaN counts the NaN values of each behaviour trace of t and returns the rejection
// when one is missing at more than p.MaxMissing of its frames (or at all of them).
func checkNaN(t *Trial, p NaNPolicy) (missing [nTraces]int, rej *Rejection) {
	T := t.Frames
	for i := range nTraces {
		xs, stride, off, name := trace(t, i)
		n := countNaN(xs, stride, off, T)
		if frac := float64(n) / float64(T); frac > p.MaxMissing || n == T {
			return missing, &Rejection{Trial: t.ID, Tier: t.Tier, Trace: name, Missing: frac}
		}
		missing[i] = n
	}
	return missing, nil
}

// fillBehavior fills the gaps of every trace of t that checkNaN found missing values in.
func fillBehavior(t *Trial, missing [nTraces]int) {
	for i := range nTraces {
		if missing[i] > 0 {
			xs, stride, off, _ := trace(t, i)
			fillGaps(xs, stride, off, t.Frames)
		}
	}
}

// countNaN counts the NaN values of xs[off], xs[off+stride], … (n values).
func countNaN(xs []float32, stride, off, n int) int {
	c := 0
	for k := range n {
		if isNaN(xs[off+k*stride]) {
			c++
		}
	}
	return c
}

// fillGaps replaces each NaN of the strided trace xs[off+k·stride], k < n, by linear
// interpolation between the nearest valid values before and after it; a gap at either
// end takes the nearest valid value (constant extrapolation, which cannot overshoot).
// The trace must have at least one valid value.
func fillGaps(xs []float32, stride, off, n int) {
	at := func(k int) *float32 { return &xs[off+k*stride] }
	prev := -1 // index of the last valid value seen
	for k := 0; k < n; k++ {
		if isNaN(*at(k)) {
			continue
		}
		if gap := k - prev - 1; gap > 0 {
			if prev < 0 { // leading gap: hold the first valid value
				for j := 0; j < k; j++ {
					*at(j) = *at(k)
				}
			} else {
				a, b := float64(*at(prev)), float64(*at(k))
				span := float64(k - prev)
				for j := prev + 1; j < k; j++ {
					*at(j) = float32(a + (b-a)*float64(j-prev)/span)
				}
			}
		}
		prev = k
	}
	for j := prev + 1; j < n; j++ { // trailing gap: hold the last valid value
		*at(j) = *at(prev)
	}
}

func isNaN(x float32) bool { return x != x }
