package data

import (
	"context"
	"fmt"
	"math"
)

// MinScale is the smallest scale a standardisation divides by (MODEL.md 7.1: "scales are
// clipped to ≥ 1e-4"). A unit whose training mean is below it, or a behaviour trace
// whose standard deviation is, is divided by MinScale instead, so that a silent unit or a
// constant trace cannot produce Inf.
const MinScale = 1e-4

// Affine is the standardisation x ↦ (x − Mean) / Scale of one trace.
type Affine struct {
	Mean  float64 `json:"mean"`
	Scale float64 `json:"scale"` // ≥ MinScale
}

// Apply standardises one value in float32, as the Stats.Apply methods do; NaN stays NaN.
func (a Affine) Apply(x float32) float32 { return (x - float32(a.Mean)) / float32(a.Scale) }

// Stats holds one session's standardisation statistics, computed from its training tier
// only (MODEL.md 7.1) and stored with the model, so that fine-tuning, evaluation and
// prediction see inputs and targets on the training scale.
//
//   - Responses are scaled by each unit's mean over the training frames, never shifted
//     (the pipeline's "homogeneous" transform, so targets stay ≥ 0 for the Poisson loss and
//     have mean ≈ 1).
//   - Pupil radius and eye x, y are affine: centred on their mean, divided by their
//     standard deviation.
//   - Running speed is divided by its standard deviation but not centred, so that a still
//     mouse reads 0 (the pipeline code's choice; the fnn tutorial says centred; MODEL.md
//     7.1 and 13 "treadmill centring"). Running.Mean is always 0.
//
// Means and standard deviations are over the valid (non-NaN) values of the trials the
// NaN policy kept, before gaps are filled; standard deviations are population ones
// (ddof 0, unverified in the reference, MODEL.md 14.6). Every scale is clipped at
// MinScale.
type Stats struct {
	Session       string    `json:"session"`        // SessionID.String() of the session
	ResponseScale []float32 `json:"response_scale"` // [U] per-unit mean, clipped at MinScale
	Pupil         Affine    `json:"pupil"`
	Running       Affine    `json:"running"`
	EyeX          Affine    `json:"eye_x"`
	EyeY          Affine    `json:"eye_y"`
}

// Check reports the first reason s cannot standardise a session of u units, or nil.
func (s *Stats) Check(u int) error {
	if len(s.ResponseScale) != u {
		return fmt.Errorf("statistics of session %s: %d response scales, want U = %d: %w", s.Session, len(s.ResponseScale), u, ErrUnitCount)
	}
	for i, v := range s.ResponseScale {
		if !(v >= MinScale) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("statistics of session %s: response scale of unit %d is %v, want a finite value ≥ %v", s.Session, i, v, MinScale)
		}
	}
	for _, a := range []struct {
		name string
		Affine
	}{{"pupil", s.Pupil}, {"running", s.Running}, {"eye x", s.EyeX}, {"eye y", s.EyeY}} {
		if !(a.Scale >= MinScale) || math.IsInf(a.Scale, 0) || math.IsNaN(a.Mean) || math.IsInf(a.Mean, 0) {
			return fmt.Errorf("statistics of session %s: %s mean %v, scale %v, want finite values with scale ≥ %v", s.Session, a.name, a.Mean, a.Scale, MinScale)
		}
	}
	if s.Running.Mean != 0 {
		return fmt.Errorf("statistics of session %s: running mean %v, want 0 (running speed is scaled, not centred)", s.Session, s.Running.Mean)
	}
	return nil
}

// ApplyResponses writes src ([T,U] responses) divided by each unit's scale into dst
// ([T,U]); dst may be src. NaN stays NaN (it is masked in the loss).
func (s *Stats) ApplyResponses(dst, src []float32) {
	U := len(s.ResponseScale)
	if U == 0 {
		return
	}
	scale := s.ResponseScale
	for t := 0; t+U <= len(src); t += U {
		d, x := dst[t:t+U], src[t:t+U]
		for u := range x {
			d[u] = x[u] / scale[u]
		}
	}
}

// ApplyEye writes src ([T,2] pupil centre x, y) standardised into dst ([T,2]); dst may
// be src.
func (s *Stats) ApplyEye(dst, src []float32) {
	mx, sx := float32(s.EyeX.Mean), float32(s.EyeX.Scale)
	my, sy := float32(s.EyeY.Mean), float32(s.EyeY.Scale)
	for i := 0; i+1 < len(src); i += 2 {
		dst[i] = (src[i] - mx) / sx
		dst[i+1] = (src[i+1] - my) / sy
	}
}

// ApplyBehavior writes src ([T,2] raw [pupil radius, running speed] per frame)
// standardised into dst ([T,2]); dst may be src.
func (s *Stats) ApplyBehavior(dst, src []float32) {
	mp, sp := float32(s.Pupil.Mean), float32(s.Pupil.Scale)
	sr := float32(s.Running.Scale)
	for i := 0; i+1 < len(src); i += 2 {
		dst[i] = (src[i] - mp) / sp
		dst[i+1] = src[i+1] / sr
	}
}

// ComputeStats computes a session's statistics by streaming over its training trials,
// one trial in memory at a time, applying the NaN policy (rejected trials do not count).
// The Report says how many trials were used and rejected and how many scales were
// clipped. Prepare does the same while it scans a session; use ComputeStats when only
// the statistics are wanted.
func ComputeStats(ctx context.Context, src TrialSource, policy NaNPolicy) (Stats, Report, error) {
	s, err := scan(ctx, src, PrepareOptions{NaN: policy, Tiers: []Tier{TierTrain}}, false)
	if err != nil {
		return Stats{}, Report{}, err
	}
	return s.stats, s.report, nil
}

// statsAccumulator gathers the sums the statistics need, trial by trial.
type statsAccumulator struct {
	sum    []float64 // [U] sum of valid responses per unit
	count  []int64   // [U] number of valid responses per unit
	traces [nTraces]moments
	trials int
}

func newStatsAccumulator(u int) *statsAccumulator {
	return &statsAccumulator{sum: make([]float64, u), count: make([]int64, u)}
}

// add accumulates one trial (before its gaps are filled: NaN values are skipped).
func (a *statsAccumulator) add(t *Trial) {
	U := len(a.sum)
	for f := 0; f < t.Frames; f++ {
		row := t.Responses[f*U : (f+1)*U]
		for u, v := range row {
			if !isNaN(v) {
				a.sum[u] += float64(v)
				a.count[u]++
			}
		}
	}
	for i := range nTraces {
		xs, stride, off, _ := trace(t, i)
		a.traces[i].add(xs, stride, off, t.Frames)
	}
	a.trials++
}

// finish turns the sums into Stats and counts the clipped and empty units into r.
func (a *statsAccumulator) finish(id SessionID, r *Report) (Stats, error) {
	if a.trials == 0 {
		return Stats{}, fmt.Errorf("statistics of session %s: %w: no training trial left after the NaN policy (%d rejected)", id, ErrNoTrials, len(r.Rejected))
	}
	s := Stats{Session: id.String(), ResponseScale: make([]float32, len(a.sum))}
	for u := range a.sum {
		switch {
		case a.count[u] == 0:
			s.ResponseScale[u] = 1 // every target of this unit is NaN and masked anyway
			r.EmptyUnits++
		case a.sum[u]/float64(a.count[u]) < MinScale:
			s.ResponseScale[u] = MinScale
			r.ClippedUnits++
		default:
			s.ResponseScale[u] = float32(a.sum[u] / float64(a.count[u]))
		}
	}
	s.Pupil = a.traces[0].affine()
	s.Running = Affine{Mean: 0, Scale: a.traces[1].affine().Scale}
	s.EyeX = a.traces[2].affine()
	s.EyeY = a.traces[3].affine()
	r.StatsTrials = a.trials
	return s, nil
}

// moments holds the count, mean and sum of squared deviations of a stream of values,
// merged trial by trial with Chan et al.'s pairwise update, which stays accurate when
// the mean is large against the spread (pupil radius in pixels), unlike Σx² − n·mean².
type moments struct {
	n        int64
	mean, m2 float64
}

// add merges the valid values of the strided trace xs[off+k·stride], k < n.
func (m *moments) add(xs []float32, stride, off, n int) {
	var cnt int64
	var sum float64
	for k := range n {
		if v := xs[off+k*stride]; !isNaN(v) {
			sum += float64(v)
			cnt++
		}
	}
	if cnt == 0 {
		return
	}
	mean := sum / float64(cnt)
	var m2 float64
	for k := range n {
		if v := xs[off+k*stride]; !isNaN(v) {
			d := float64(v) - mean
			m2 += d * d
		}
	}
	tot := m.n + cnt
	delta := mean - m.mean
	m.mean += delta * float64(cnt) / float64(tot)
	m.m2 += m2 + delta*delta*float64(m.n)*float64(cnt)/float64(tot)
	m.n = tot
}

// affine returns the mean and the clipped population standard deviation.
func (m *moments) affine() Affine {
	sd := 0.0
	if m.n > 0 {
		sd = math.Sqrt(m.m2 / float64(m.n))
	}
	return Affine{Mean: m.mean, Scale: max(sd, MinScale)}
}
