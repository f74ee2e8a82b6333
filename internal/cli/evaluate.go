package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/data/h5"
	"github.com/fmcore/fmcore/internal/metrics"
	"github.com/fmcore/fmcore/internal/plots"
	"github.com/fmcore/fmcore/model"
)

type evaluateOptions struct {
	IO      IO
	Model   string
	Data    string
	Mice    string
	Out     string
	Burnin  int
	Truth   bool
	Domains []string
}

func newEvaluateCmd(ios IO, runF func(context.Context, *evaluateOptions) error) *cobra.Command {
	opts := &evaluateOptions{IO: ios}
	if runF == nil {
		runF = runEvaluate
	}
	cmd := &cobra.Command{
		Use:   "evaluate --model runs/NAME",
		Short: "Score a model on the test trials: CC_abs, CC_max, CC_norm, single-trial correlation, FEVE",
		Long: `evaluate predicts every test-tier trial of the model's sessions from its own stimulus and
behaviour (all streams, evaluation mode) and scores each unit (MODEL.md 9): CC_abs, CC_max
and CC_norm on repeats after the burn-in, the SENSORIUM 2023 single-trial correlation and
FEVE. It prints medians per mouse, area and stimulus domain, and writes evaluation.json,
units.csv, cc_norm.png (distributions per domain) and traces.png (example units).`,
		Example: `  fmcore evaluate --model runs/foundation
  fmcore evaluate --model runs/mouse15 --mice 15 --out runs/mouse15/eval`,
		Args: exactArgs(0, "no positional arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error { return runF(cmd.Context(), opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.Model, "model", "runs/foundation", "run folder (its best model) or checkpoint folder")
	f.StringVar(&opts.Data, "data", "", "dataset folder (default: the built-in simulated dataset)")
	f.StringVar(&opts.Mice, "mice", "all", "mice to evaluate (of the model's): 1-14, 1,3 or all")
	f.StringVar(&opts.Out, "out", "", "report folder (default: <model>/evaluation)")
	f.IntVar(&opts.Burnin, "burnin", metrics.DefaultBurnin, "frames dropped at the start of every trial")
	f.StringSliceVar(&opts.Domains, "domains", nil, "stimulus domains to score, e.g. natural or natural,gabor (default: every domain of the test trials)")
	f.BoolVar(&opts.Truth, "truth", false, "score the simulator's noise-free rate instead of a model (the ceiling of the metrics on simulated data)")
	return cmd
}

// unitRow is one unit's scores in one stimulus domain (a row of units.csv).
type unitRow struct {
	Session, Area, Domain           string
	Unit                            int64
	CCAbs, CCMax, CCNorm, FEV, FEVE float64
	SingleTrial                     float64
}

// summaryRow is a median over units of one group.
type summaryRow struct {
	Group       string  `json:"group"` // "mouse 3", "area V1", "domain natural", "all"
	Domain      string  `json:"domain"`
	Units       int     `json:"units"`
	CCAbs       float64 `json:"cc_abs_median"`
	CCMax       float64 `json:"cc_max_median"`
	CCNorm      float64 `json:"cc_norm_median"`
	SingleTrial float64 `json:"single_trial_corr_mean"`
	FEVE        float64 `json:"feve_median"`
	FEVEUnits   int     `json:"feve_units"`
}

func runEvaluate(ctx context.Context, opts *evaluateOptions) (err error) {
	if opts.Burnin < 0 {
		return usagef("--burnin %d, want 0 or more", opts.Burnin)
	}
	set, err := data.ParseMice(opts.Mice)
	if err != nil {
		return usageError{fmt.Errorf("--mice: %w", err)}
	}
	dataDir := opts.Data
	if dataDir == "" {
		if dataDir, err = defaultDataset(ctx, opts.IO); err != nil {
			return err
		}
	}
	all, err := data.FindSessions(dataDir, h5.ReadHeader)
	if err != nil {
		return err
	}
	paths := map[string]string{}
	var inData []string
	for _, m := range all {
		for _, s := range m.Sessions {
			paths[s.Session.String()] = s.Path
			inData = append(inData, s.Session.String())
		}
	}
	var net *model.Network
	saved := savedModel{Stats: map[string]data.Stats{}}
	var chosen []string
	dir := modelDir(opts.Model)
	keys := inData
	if !opts.Truth {
		if keys, err = sessionsIn(dir); err != nil {
			return err
		}
	}
	for _, k := range keys {
		if n, err := strconv.Atoi(mouseOf(k)); err == nil && set.Contains(n) {
			chosen = append(chosen, k)
		}
	}
	if len(chosen) == 0 {
		return fmt.Errorf("no session of mice %s to evaluate (there are %s)", opts.Mice, strings.Join(keys, ", "))
	}
	if !opts.Truth {
		if net, _, saved, err = loadModel(dir, chosen...); err != nil {
			return err
		}
	}
	out := opts.Out
	switch {
	case out != "":
	case opts.Truth:
		out = filepath.Join(dataDir, "evaluation-truth")
	default:
		out = filepath.Join(filepath.Dir(dir), "evaluation")
	}
	// Made now, so that an unwritable --out fails before the work, and removed again if
	// the evaluation fails and it is still empty.
	_, statErr := os.Stat(out)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		defer func() {
			if err != nil {
				os.Remove(out)
			}
		}()
	}
	cfg := model.Default()
	if net != nil {
		cfg = net.Config
	}
	frames, err := frameSource(cfg, 30)
	if err != nil {
		return err
	}
	defer frames.Close()
	var rows []unitRow
	var traces []plots.Trace
	for _, key := range chosen {
		path, ok := paths[key]
		if !ok {
			return fmt.Errorf("--data %s has no recording of session %s", dataDir, key)
		}
		var st *data.Stats
		if s, ok := saved.Stats[key]; ok {
			st = &s
		}
		r, tr, err := evaluateSession(ctx, opts, net, key, path, st, frames)
		if err != nil {
			return err
		}
		rows = append(rows, r...)
		traces = append(traces, tr...)
	}
	summary := summarizeRows(rows)
	printEvaluation(opts.IO, summary)
	what := dir
	if opts.Truth {
		what = "the simulator's noise-free rate"
	}
	return writeEvaluation(out, what, rows, summary, traces)
}

// evaluateSession predicts the test trials of one session and scores its units per domain.
func evaluateSession(ctx context.Context, opts *evaluateOptions, net *model.Network, key, path string, st *data.Stats, frames data.FrameSource) ([]unitRow, []plots.Trace, error) {
	var domains []data.Domain
	for _, d := range opts.Domains {
		domains = append(domains, data.Domain(strings.TrimSpace(d)))
	}
	s, err := openSession(ctx, path, st, 0, domains...)
	if err != nil {
		return nil, nil, err
	}
	defer s.file.Close()
	rec := s.data.Recording()
	U := rec.Units.Len()
	if net != nil && net.Sessions[key].Units != U {
		return nil, nil, fmt.Errorf("session %s: the recording has %d units, the model %d: evaluate on the data the model was trained on", key, U, net.Sessions[key].Units)
	}
	if s.data.Kept(data.TierTest) == 0 {
		if len(opts.Domains) > 0 {
			return nil, nil, fmt.Errorf("session %s (%s) has no test trials of --domains %s (see fmcore data inspect %s)", key, path, strings.Join(opts.Domains, ","), path)
		}
		return nil, nil, fmt.Errorf("session %s (%s) has no test trials", key, path)
	}
	lc := data.DefaultLoaderConfig()
	lc.Tier, lc.Batch, lc.Window = data.TierTest, 4, opts.Burnin+2
	loader, err := data.NewLoader(s.data, frames, lc)
	if err != nil {
		return nil, nil, err
	}
	type domainAcc struct {
		oracle *metrics.Oracle
		single *metrics.SingleTrialCorrelation
	}
	accs := map[string]*domainAcc{}
	byID := map[string]data.TrialInfo{}
	for _, t := range rec.Trials {
		byID[t.ID] = t
	}
	windows := map[[2]int]*model.Window{}
	// For the example traces: the repeat-averaged natural test clip.
	var exPred, exResp []float64
	var exT, exN int
	exStim := ""
	bar := newProgress(opts.IO.Err, "evaluate "+key, "trials")
	done, total := 0, s.data.Kept(data.TierTest)
	for b, err := range loader.Sequential(ctx, data.SequenceTrials) {
		if err != nil {
			return nil, nil, err
		}
		var rates []float32
		if net == nil {
			if rates, err = truthRates(s, b); err != nil {
				return nil, nil, err
			}
		} else {
			w := windows[[2]int{b.N, b.T}]
			if w == nil {
				if w, err = net.NewWindow(key, b.N, b.T, min(opts.Burnin, b.T-1), false); err != nil {
					return nil, nil, err
				}
				windows[[2]int{b.N, b.T}] = w
			}
			mb := &model.Batch{Frames: b.Frames, Eye: b.Eye, Behavior: b.Behavior, Targets: b.Targets,
				Jitter: make([]float32, b.N*6), Eps: make([]float32, b.N*U*2)}
			if rates, _, err = w.Evaluate(mb); err != nil {
				return nil, nil, err
			}
		}
		for n := range b.N {
			info := byID[b.Trials[n]]
			dom := string(info.Domain)
			a := accs[dom]
			if a == nil {
				a = &domainAcc{}
				if a.oracle, err = metrics.NewOracle(U, opts.Burnin); err != nil {
					return nil, nil, err
				}
				if a.single, err = metrics.NewSingleTrialCorrelation(U, min(metrics.SensoriumSkipFrames, b.T-1)); err != nil {
					return nil, nil, err
				}
				accs[dom] = a
			}
			p := rates[n*b.T*U : (n+1)*b.T*U]
			y := b.Targets[n*b.T*U : (n+1)*b.T*U]
			if b.T <= opts.Burnin {
				continue
			}
			if err := a.oracle.Add(info.Stimulus, p, y, b.T); err != nil {
				return nil, nil, err
			}
			if err := a.single.Add(p, y, b.T); err != nil {
				return nil, nil, err
			}
			if dom == string(data.DomainNatural) && (exStim == "" || exStim == info.Stimulus) {
				if exStim == "" {
					exStim, exT = info.Stimulus, b.T
					exPred, exResp = make([]float64, b.T*U), make([]float64, b.T*U)
				}
				for i := range p {
					exPred[i] += float64(p[i])
					exResp[i] += float64(y[i])
				}
				exN++
			}
		}
		done += b.N
		bar.Update(done, total)
	}
	bar.Finish()
	var rows []unitRow
	for _, dom := range sortedKeys(accs) {
		a := accs[dom]
		if a.oracle.Clips() == 0 {
			continue
		}
		scores, err := a.oracle.Scores()
		if err != nil {
			return nil, nil, err
		}
		single := a.single.PerNeuron()
		for u, sc := range scores {
			rows = append(rows, unitRow{Session: key, Area: rec.Units.Area[u], Domain: dom, Unit: rec.Units.ID[u],
				CCAbs: sc.CCAbs, CCMax: sc.CCMax, CCNorm: sc.CCNorm, FEV: sc.FEV, FEVE: sc.FEVE, SingleTrial: single[u]})
		}
	}
	var traces []plots.Trace
	if exN > 0 {
		// The three most reliable units of this session on natural clips.
		var nat []unitRow
		idx := map[int64]int{}
		for u, id := range rec.Units.ID {
			idx[id] = u
		}
		for _, r := range rows {
			if r.Domain == string(data.DomainNatural) && !math.IsNaN(r.CCMax) {
				nat = append(nat, r)
			}
		}
		sort.Slice(nat, func(i, j int) bool { return nat[i].CCMax > nat[j].CCMax })
		for _, r := range nat[:min(3, len(nat))] {
			u := idx[r.Unit]
			tr := plots.Trace{Title: fmt.Sprintf("session %s, unit %d (%s): CC_norm %.2f, mean of %d repeats of %s", key, r.Unit, r.Area, r.CCNorm, exN, exStim), RateHz: rec.RateHz}
			for f := range exT {
				tr.Recorded = append(tr.Recorded, exResp[f*U+u]/float64(exN))
				tr.Predicted = append(tr.Predicted, exPred[f*U+u]/float64(exN))
			}
			traces = append(traces, tr)
		}
	}
	return rows, traces, nil
}

// truthRates reads the simulator's noise-free rate of every trial of a batch of whole
// trials, scaled like the targets (divided by each unit's training mean).
func truthRates(s *session, b *data.Batch) ([]float32, error) {
	U := b.U
	out := make([]float32, 0, b.N*b.T*U)
	scale := s.data.Stats().ResponseScale
	for n := range b.N {
		v, dims, err := s.file.ReadTrialExtra(b.Trials[n], "rate")
		if err != nil {
			return nil, fmt.Errorf("--truth: %w (only simulated recordings hold the noise-free rate)", err)
		}
		if len(dims) != 2 || dims[0] < b.Starts[n]+b.T || dims[1] != U {
			return nil, fmt.Errorf("--truth: trial %s: rate has shape %v, want [%d, %d]", b.Trials[n], dims, b.T, U)
		}
		for f := b.Starts[n]; f < b.Starts[n]+b.T; f++ {
			for u := range U {
				out = append(out, v[f*U+u]/scale[u])
			}
		}
	}
	return out, nil
}

// summarizeRows computes the medians per mouse, area and domain (and overall).
func summarizeRows(rows []unitRow) []summaryRow {
	groups := map[[2]string][]unitRow{}
	for _, r := range rows {
		for _, g := range []string{"all", "mouse " + mouseOf(r.Session), "area " + r.Area} {
			groups[[2]string{g, r.Domain}] = append(groups[[2]string{g, r.Domain}], r)
		}
	}
	var out []summaryRow
	for k, rs := range groups {
		var abs, mx, norm, single, feve []float64
		for _, r := range rs {
			abs, mx, norm = append(abs, r.CCAbs), append(mx, r.CCMax), append(norm, r.CCNorm)
			single = append(single, r.SingleTrial)
			if r.FEV >= metrics.FEVThreshold {
				feve = append(feve, r.FEVE)
			}
		}
		out = append(out, summaryRow{Group: k[0], Domain: k[1], Units: len(rs), CCAbs: metrics.Median(abs), CCMax: metrics.Median(mx),
			CCNorm: metrics.Median(norm), SingleTrial: mean(single), FEVE: metrics.Median(feve), FEVEUnits: len(feve)})
	}
	order := func(g string) int {
		switch {
		case g == "all":
			return 0
		case strings.HasPrefix(g, "mouse"):
			return 1
		}
		return 2
	}
	domains := map[string]int{}
	for i, d := range data.Domains {
		domains[string(d)] = i
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if order(a.Group) != order(b.Group) {
			return order(a.Group) < order(b.Group)
		}
		if a.Group != b.Group {
			na, ea := strconv.Atoi(strings.TrimPrefix(a.Group, "mouse "))
			nb, eb := strconv.Atoi(strings.TrimPrefix(b.Group, "mouse "))
			if ea == nil && eb == nil {
				return na < nb
			}
			return a.Group < b.Group
		}
		da, oka := domains[a.Domain]
		db, okb := domains[b.Domain]
		if oka && okb {
			return da < db
		}
		return a.Domain < b.Domain
	})
	return out
}

func mean(v []float64) float64 {
	s, n := 0.0, 0
	for _, x := range v {
		if !math.IsNaN(x) {
			s += x
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

func printEvaluation(ios IO, rows []summaryRow) {
	fmt.Fprintf(ios.Out, "%-10s %-8s %6s %8s %8s %8s %8s %8s\n", "group", "domain", "units", "CC_abs", "CC_max", "CC_norm", "1-trial", "FEVE")
	for _, r := range rows {
		fmt.Fprintf(ios.Out, "%-10s %-8s %6d %8.3f %8.3f %8.3f %8.3f %8.3f\n", r.Group, r.Domain, r.Units, r.CCAbs, r.CCMax, r.CCNorm, r.SingleTrial, r.FEVE)
	}
	fmt.Fprintln(ios.Out, "medians over units; 1-trial is the mean SENSORIUM single-trial correlation; FEVE the median over units with FEV ≥ 0.15 (a mean is swamped by a few units with heavy-tailed responses)")
}

// writeEvaluation writes evaluation.json, units.csv and the figures.
func writeEvaluation(out, modelDir string, rows []unitRow, summary []summaryRow, traces []plots.Trace) error {
	clean := func(x float64) any {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return x
	}
	js := []map[string]any{}
	for _, s := range summary {
		js = append(js, map[string]any{"group": s.Group, "domain": s.Domain, "units": s.Units, "cc_abs_median": clean(s.CCAbs),
			"cc_max_median": clean(s.CCMax), "cc_norm_median": clean(s.CCNorm), "single_trial_corr_mean": clean(s.SingleTrial),
			"feve_median": clean(s.FEVE), "feve_units": s.FEVEUnits})
	}
	if err := writeJSONAtomic(filepath.Join(out, "evaluation.json"), map[string]any{"model": modelDir, "summary": js}); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("session,unit,area,domain,cc_abs,cc_max,cc_norm,fev,feve,single_trial_corr\n")
	f := func(x float64) string {
		if math.IsNaN(x) {
			return ""
		}
		return strconv.FormatFloat(x, 'g', 6, 64)
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%d,%s,%s,%s,%s,%s,%s,%s,%s\n", r.Session, r.Unit, r.Area, r.Domain, f(r.CCAbs), f(r.CCMax), f(r.CCNorm), f(r.FEV), f(r.FEVE), f(r.SingleTrial))
	}
	if err := writeFileAtomic(filepath.Join(out, "units.csv"), []byte(b.String())); err != nil {
		return err
	}
	groups := map[string][]float64{}
	for _, r := range rows {
		groups[r.Domain] = append(groups[r.Domain], r.CCNorm)
	}
	if err := plots.Distributions(filepath.Join(out, "cc_norm.png"), "CC_norm per stimulus domain", "CC_norm (clamped to [−0.5, 1.5])", groups, -0.5, 1.5); err != nil {
		return err
	}
	if len(traces) > 0 {
		if err := plots.Traces(filepath.Join(out, "traces.png"), traces[:min(6, len(traces))]); err != nil {
			return err
		}
	}
	return nil
}
