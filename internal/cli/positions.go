package cli

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/internal/metrics"
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
		if err := j.mapSession(ctx, frames, ts); err != nil {
			return fmt.Errorf("session %s: receptive-field mapping: %w (or set train.positions: %s to start at the map's centre)", ts.Key, err, train.PositionsCenter)
		}
	}
	return nil
}

// mapSession maps one session's positions (mapPositions).
func (j *trainJob) mapSession(ctx context.Context, frames data.FrameSource, ts train.Session) error {
	start := time.Now()
	sess := ts.Train.Session()
	rec := sess.Recording()
	units := rec.Units
	U := units.Len()
	f := frames.Format()
	hw := f.Height * f.Width
	mp, err := rfmap.New(U, f.Height, f.Width, rfmap.DefaultOptions(rec.RateHz))
	if err != nil {
		return err
	}
	bar := newProgress(j.io.Err, "mapping "+ts.Key, "trials")
	defer bar.Finish()
	total, done := sess.Kept(data.TierTrain), 0
	for b, err := range ts.Train.Sequential(ctx, data.SequenceTrials) {
		if err != nil {
			return err
		}
		for n := range b.N {
			if err := mp.Add(b.Frames[n*b.T*hw:(n+1)*b.T*hw], b.Targets[n*b.T*U:(n+1)*b.T*U], b.T); err != nil {
				return err
			}
		}
		done += b.N
		bar.Update(done, total)
	}
	centers, peaks, err := mp.Centers(units.PositionUM, units.Area)
	if err != nil {
		return err
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
	bar.Finish()
	slog.Info("readout positions mapped", "session", ts.Key, "frames", mp.Frames(), "pooled", units.PositionUM != nil,
		"median_peak_corr", metrics.Median(peaks), "outside_retina", outside, "seconds", math.Round(time.Since(start).Seconds()*10)/10)
	return nil
}
