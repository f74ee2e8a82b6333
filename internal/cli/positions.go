package cli

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/internal/rfmap"
	"github.com/fmcore/fmcore/internal/train"
	"github.com/fmcore/fmcore/model"
	"github.com/fmcore/fmcore/model/readout"
)

// mapPositions starts the readout positions of each session to be trained at its units'
// receptive-field centres, estimated from the session's training trials by reverse
// correlation with local motion energy (train.positions: rf_map), pooled over cortical
// neighbours when the recording has unit positions. The centres, in stimulus pixels, are
// carried through the perspective's initial geometry onto the core's map.
func (j *trainJob) mapPositions(ctx context.Context, frames data.FrameSource, sessions []train.Session) error {
	for _, ts := range sessions {
		start := time.Now()
		i := slices.IndexFunc(j.sessions, func(s *session) bool { return s.key == ts.Key })
		rec := j.sessions[i].data.Recording()
		units := rec.Units
		U := units.Len()
		f := frames.Format()
		hw := f.Height * f.Width
		mp, err := rfmap.New(U, f.Height, f.Width, rfmap.DefaultOptions(rec.RateHz))
		if err != nil {
			return fmt.Errorf("session %s: receptive-field mapping: %w", ts.Key, err)
		}
		bar := newProgress(j.io.Err, "mapping "+ts.Key, "trials")
		total, done := j.sessions[i].data.Kept(data.TierTrain), 0
		for b, err := range ts.Train.Sequential(ctx, data.SequenceTrials) {
			if err != nil {
				bar.Finish()
				return fmt.Errorf("session %s: receptive-field mapping: %w", ts.Key, err)
			}
			for n := range b.N {
				if err := mp.Add(b.Frames[n*b.T*hw:(n+1)*b.T*hw], b.Targets[n*b.T*U:(n+1)*b.T*U], b.T); err != nil {
					bar.Finish()
					return fmt.Errorf("session %s: receptive-field mapping: %w", ts.Key, err)
				}
			}
			done += b.N
			bar.Update(done, total)
		}
		bar.Finish()
		centers, peaks, err := mp.Centers(units.PositionUM, units.Area)
		if err != nil {
			return fmt.Errorf("session %s: receptive-field mapping: %w (set train.positions: %s to start at the map's centre)", ts.Key, err, train.PositionsCenter)
		}
		persp := j.net.Sessions[ts.Key].Perspective
		mu := make([]float32, 2*U)
		outside := 0
		for u := range U {
			gx, gy, ok := persp.StimulusToRetina(centers[2*u], centers[2*u+1])
			if !ok {
				outside++
			}
			mu[2*u], mu[2*u+1] = readout.PositionParam(gx), readout.PositionParam(gy)
		}
		if err := j.net.SetValue(model.ParamKey(ts.Key, "readout.mu"), mu); err != nil {
			return err
		}
		slog.Info("readout positions mapped", "session", ts.Key, "frames", mp.Frames(), "pooled", units.PositionUM != nil,
			"median_peak_corr", median32(peaks), "outside_retina", outside, "seconds", math.Round(time.Since(start).Seconds()*10)/10)
	}
	return nil
}

// median32 returns the median of v (NaN when empty).
func median32(v []float32) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return float64(s[len(s)/2])
}
