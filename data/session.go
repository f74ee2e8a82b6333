package data

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
)

// PrepareOptions says how Prepare turns a recording into a Session.
type PrepareOptions struct {
	// NaN is the policy for missing behaviour (MODEL.md 11.5).
	NaN NaNPolicy
	// Stats, when set, standardises the session instead of statistics computed from its
	// training tier: the statistics stored with a model, for fine-tuning, evaluation and
	// prediction. Its Session must match the recording's (or be empty).
	Stats *Stats
	// Tiers lists the tiers whose trials loaders may draw from; nil means every tier.
	// Trials of other tiers are not read, except the training tier when the statistics
	// are computed.
	Tiers []Tier
	// MaxTrainMinutes, when positive, keeps only the first that many minutes of training
	// trials (in file order), for data-efficiency experiments; later training trials are
	// neither loaded nor used for the statistics.
	MaxTrainMinutes float64
	// Domains, when not empty, keeps for loading only the trials of these stimulus
	// domains (the training tier still feeds the statistics whatever its domains).
	Domains []Domain
}

// DefaultPrepareOptions returns the default NaN policy, computed statistics and every
// tier.
func DefaultPrepareOptions() PrepareOptions { return PrepareOptions{NaN: DefaultNaNPolicy()} }

// Validate reports the first invalid option, or nil.
func (o PrepareOptions) Validate() error {
	if err := o.NaN.Validate(); err != nil {
		return err
	}
	if !(o.MaxTrainMinutes >= 0) {
		return fmt.Errorf("prepare options: max training minutes %g, want 0 (all) or more", o.MaxTrainMinutes)
	}
	for _, t := range o.Tiers {
		if !t.Valid() {
			return fmt.Errorf("prepare options: tier %q, want train, validation or test", t)
		}
	}
	return nil
}

// Session is one recording prepared for loading: its header, its statistics, and for
// every trial kept the behaviour and eye traces with gaps filled and standardised, held
// in memory (16 bytes per frame: 26 MB for 900 minutes at 30 Hz). Responses and frames
// stay on disk and are read window by window. A Session is read-only after Prepare and
// may be shared by several Loaders (one per tier, say).
type Session struct {
	src    TrialSource
	rec    Recording
	stats  Stats
	report Report
	trials []preparedTrial // [len(rec.Trials)], in the header's trial order
}

// preparedTrial is what a Loader needs about one trial besides its responses.
type preparedTrial struct {
	kept     bool      // read, and not rejected by the NaN policy
	video    string    // stimulus video path, resolved against the recording's folder
	eye      []float32 // [T,2] standardised pupil centre, gaps filled
	behavior []float32 // [T,2] standardised [pupil radius, running speed], gaps filled
}

// Prepare reads every trial of the wanted tiers once, one at a time: it applies the NaN
// policy, computes the statistics from the training tier (unless opts.Stats is given)
// and keeps the standardised behaviour and eye traces of the trials kept.
func Prepare(ctx context.Context, src TrialSource, opts PrepareOptions) (*Session, error) {
	return scan(ctx, src, opts, true)
}

// scan implements Prepare and ComputeStats; keep says whether to hold the traces.
func scan(ctx context.Context, src TrialSource, opts PrepareOptions, keep bool) (*Session, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	rec := src.Recording()
	id := rec.Session
	U := rec.Units.Len()
	if U == 0 {
		return nil, fmt.Errorf("prepare session %s (%s): no units", id, src.Path())
	}
	if opts.Stats != nil {
		if err := opts.Stats.Check(U); err != nil {
			return nil, fmt.Errorf("prepare session %s: %w", id, err)
		}
		if s := opts.Stats.Session; s != "" && s != id.String() {
			return nil, fmt.Errorf("prepare session %s: the statistics given belong to session %s", id, s)
		}
	}
	want := func(t Tier) bool { return opts.Tiers == nil || slices.Contains(opts.Tiers, t) }
	wantDomain := func(d Domain) bool { return len(opts.Domains) == 0 || slices.Contains(opts.Domains, d) }
	var acc *statsAccumulator
	if opts.Stats == nil {
		acc = newStatsAccumulator(U)
	}
	s := &Session{src: src, rec: rec, trials: make([]preparedTrial, len(rec.Trials))}
	s.report.Session = id
	dir := filepath.Dir(src.Path())
	var t Trial
	trainMinutes := 0.0
	for i, info := range rec.Trials {
		if info.Tier == TierTrain && opts.MaxTrainMinutes > 0 {
			if trainMinutes >= opts.MaxTrainMinutes-1e-9 {
				continue
			}
			trainMinutes += float64(info.Frames) / rec.RateHz / 60
		}
		forStats := acc != nil && info.Tier == TierTrain
		if (!want(info.Tier) || !wantDomain(info.Domain)) && !forStats {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("prepare session %s: %w", id, err)
		}
		if err := src.ReadWindow(&t, info.ID, 0, info.Frames); err != nil {
			return nil, fmt.Errorf("prepare session %s: %w", id, err)
		}
		if err := t.Check(U); err != nil {
			return nil, fmt.Errorf("prepare session %s (%s): %w", id, src.Path(), err)
		}
		s.report.Scanned++
		missing, rej := checkNaN(&t, opts.NaN)
		if rej != nil {
			s.report.Rejected = append(s.report.Rejected, *rej)
			continue
		}
		if forStats {
			acc.add(&t)
		}
		fillBehavior(&t, missing)
		s.report.FilledPupil += missing[0]
		s.report.FilledRunning += missing[1]
		s.report.FilledEye += missing[2] + missing[3]
		s.report.ResponseNaN += int64(countNaN(t.Responses, 1, 0, len(t.Responses)))
		if !keep || !want(info.Tier) || !wantDomain(info.Domain) {
			continue
		}
		p := &s.trials[i]
		p.kept = true
		p.video = filepath.FromSlash(info.Video)
		if !filepath.IsAbs(p.video) {
			p.video = filepath.Join(dir, p.video)
		}
		p.eye = slices.Clone(t.Eye)
		p.behavior = make([]float32, 2*t.Frames)
		for f := range t.Frames {
			p.behavior[2*f], p.behavior[2*f+1] = t.Pupil[f], t.Running[f]
		}
	}
	if acc != nil {
		st, err := acc.finish(id, &s.report)
		if err != nil {
			return nil, err
		}
		s.stats = st
	} else {
		s.stats = *opts.Stats
		s.stats.Session = id.String()
		s.stats.ResponseScale = slices.Clone(opts.Stats.ResponseScale)
	}
	for i := range s.trials {
		if p := &s.trials[i]; p.kept {
			s.stats.ApplyEye(p.eye, p.eye)
			s.stats.ApplyBehavior(p.behavior, p.behavior)
		}
	}
	return s, nil
}

// ID returns the session's id.
func (s *Session) ID() SessionID { return s.rec.Session }

// Recording returns the session header. Its slices are shared: do not modify them.
func (s *Session) Recording() Recording { return s.rec }

// Stats returns (a copy of) the statistics the session is standardised with.
func (s *Session) Stats() Stats {
	st := s.stats
	st.ResponseScale = slices.Clone(st.ResponseScale)
	return st
}

// Report returns what preparing the session did.
func (s *Session) Report() Report { return s.report }

// Kept returns the number of trials of tier kept for loading.
func (s *Session) Kept(tier Tier) int {
	n := 0
	for i, p := range s.trials {
		if p.kept && s.rec.Trials[i].Tier == tier {
			n++
		}
	}
	return n
}
