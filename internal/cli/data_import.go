package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/data/fnnnpy"
	"github.com/fmcore/fmcore/data/sensorium"
)

// importLayout is a source layout data import reads; each has its own subcommand.
type importLayout string

// The layouts.
const (
	layoutSensorium importLayout = "sensorium"
	layoutFnn       importLayout = "fnn"
)

type dataImportOptions struct {
	IO      IO
	Layout  importLayout
	Dirs    []string // source folders
	Out     string   // output folder
	Force   bool     // re-import sources whose recording exists in Out
	Mouse   string   // fnn: mouse id (default: the folder name)
	Session string   // fnn: session id (default: 1)
}

func newDataImportCmd(ios IO, runF func(context.Context, *dataImportOptions) error) *cobra.Command {
	if runF == nil {
		runF = runDataImport
	}
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Convert SENSORIUM 2023 folders or fnn .npy trees into recordings",
		Long: `import converts recordings in a public layout into fmcore recordings (format v1,
docs/FORMAT.md) with lossless mp4 stimuli, one trial in memory at a time. Every source is
checked completely before anything is written; a recording appears under its final name
only once it is complete. A rerun skips recordings that already exist (use --force to
redo them) and reuses videos already written. docs/IMPORT.md says what maps to what.`,
	}
	cmd.AddCommand(newImportSensoriumCmd(ios, runF), newImportFnnCmd(ios, runF))
	return cmd
}

func newImportSensoriumCmd(ios IO, runF func(context.Context, *dataImportOptions) error) *cobra.Command {
	opts := &dataImportOptions{IO: ios, Layout: layoutSensorium}
	cmd := &cobra.Command{
		Use:   "sensorium DIR... --out OUT",
		Short: "Import SENSORIUM 2023 mouse folders, one recording per mouse",
		Long: `sensorium imports SENSORIUM 2023 mouse folders (dynamic<mouse>-<session>-<scan>-Video-…,
each with data/ and meta/), or a folder holding several of them, into one recording per
mouse, <mouse>-<session>.h5, plus videos/<hash>.mp4 shared by all. NaN-padded trial ends
are cut; tiers map to train, validation (oracle) and test (the live and final tiers, whose
names stay in the trial label sensorium_tier); trials of tier none are skipped.`,
		Example: `  fmcore data import sensorium ~/sensorium2023 --out data/sensorium
  fmcore data import sensorium dynamic29515-10-12-Video-* --out data/sensorium`,
		Args: minArgs(1, "one or more SENSORIUM 2023 mouse folders"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dirs = args
			return runF(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Out, "out", "", "output folder for the recordings and videos (required)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "re-import mice whose recording already exists in --out")
	return cmd
}

func newImportFnnCmd(ios IO, runF func(context.Context, *dataImportOptions) error) *cobra.Command {
	opts := &dataImportOptions{IO: ios, Layout: layoutFnn}
	cmd := &cobra.Command{
		Use:   "fnn DIR --out OUT",
		Short: "Import the reference model's per-trial .npy tree as one recording",
		Long: `fnn imports a tree in the reference model's layout (stimuli/, perspectives/,
modulations/, units/, training/, samples/ with one <trial>.npy each, and optionally
evaluation_data/ with repeated test trials) into one recording <mouse>-<session>.h5 plus
videos/<hash>.mp4. The layout names neither mouse nor session: the mouse defaults to the
folder name and the session to 1.`,
		Example: `  fmcore data import fnn ~/fnn/17797-8-5 --out data/fnn --mouse 17797 --session 8-5`,
		Args:    exactArgs(1, "one fnn data folder"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dirs = args
			return runF(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Out, "out", "", "output folder for the recording and videos (required)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "re-import when the recording already exists in --out")
	cmd.Flags().StringVar(&opts.Mouse, "mouse", "", "mouse id (default: the folder name)")
	cmd.Flags().StringVar(&opts.Session, "session", "1", "session id")
	return cmd
}

// importSource is one opened source: where its recording goes and how to write it.
type importSource struct {
	dir     string
	session data.SessionID
	output  string
	run     func(ctx context.Context, out string, progress func(done, total int)) (importReport, error)
}

// importReport is what one import wrote, in a form shared by both layouts.
type importReport struct {
	File      string
	Session   data.SessionID
	Units     int
	RateHz    float64
	Trials    map[data.Tier]int
	Frames    map[data.Tier]int
	Stimuli   int
	Repeated  int
	MinRepeat int
	MaxRepeat int
	Videos    int
	NewVideos int
	Notes     []string // layout-specific lines: video scaling, cut frames, skipped trials
	Ignored   []string // source files and folders not read
}

// runDataImport opens and checks every source, then imports them one after another,
// skipping those whose recording exists unless --force, and prints a summary.
func runDataImport(ctx context.Context, opts *dataImportOptions) error {
	if opts.Out == "" {
		return usagef("--out is required: name the folder to write the recordings to")
	}
	if opts.Layout == layoutFnn && (strings.ContainsRune(opts.Mouse, '/') || strings.ContainsRune(opts.Session, '/') || opts.Session == "") {
		return usagef("--mouse and --session must be non-empty names without '/'")
	}
	sources, err := openSources(opts)
	if err != nil {
		return err
	}
	if err := prepareImportOut(opts.Out); err != nil {
		return err
	}
	start := time.Now()
	var reports []importReport
	kept := 0
	for _, s := range sources {
		if !opts.Force {
			if _, err := os.Stat(s.output); err == nil {
				fmt.Fprintf(opts.IO.Out, "%s: kept, already imported (use --force to import %s again)\n", s.output, s.dir)
				kept++
				continue
			}
		}
		bar := newProgress(opts.IO.Err, "import "+s.session.String(), "trials")
		rep, err := s.run(ctx, opts.Out, bar.Update)
		bar.Finish()
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("import interrupted, %s not written (rerun the same command to resume): %w", s.output, err)
			}
			return err
		}
		printImportReport(opts.IO.Out, s.dir, rep)
		reports = append(reports, rep)
	}
	printImportTotal(opts.IO.Out, reports, kept, opts.Out, time.Since(start))
	return nil
}

// openSources opens and checks every source before anything is written.
func openSources(opts *dataImportOptions) ([]importSource, error) {
	var sources []importSource
	for _, dir := range opts.Dirs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%s: no such folder", dir)
		}
		var err error
		switch opts.Layout {
		case layoutSensorium:
			sources, err = openSensorium(dir, opts.Out, sources)
		case layoutFnn:
			sources, err = openFnn(dir, opts, sources)
		}
		if err != nil {
			return nil, err
		}
	}
	seen := map[string]string{}
	for _, s := range sources {
		if prev, dup := seen[s.output]; dup {
			return nil, fmt.Errorf("%s and %s are both mouse %s, session %s: import them into different --out folders", prev, s.dir, s.session.Mouse, s.session.Session)
		}
		seen[s.output] = s.dir
	}
	return sources, nil
}

func openSensorium(dir, out string, sources []importSource) ([]importSource, error) {
	if fnnnpy.IsTree(dir) {
		return nil, fmt.Errorf("%s is an fnn data tree (stimuli/, units/), not a SENSORIUM folder: use fmcore data import fnn %s", dir, dir)
	}
	dirs, err := sensorium.Find(dir)
	if err != nil {
		if errors.Is(err, sensorium.ErrNotFolder) {
			return nil, fmt.Errorf("%s is neither a SENSORIUM 2023 mouse folder (data/, meta/), nor a folder of them, nor an fnn tree (stimuli/, units/)", dir)
		}
		return nil, err
	}
	for _, d := range dirs {
		f, err := sensorium.Open(d)
		if err != nil {
			return nil, err
		}
		sources = append(sources, importSource{
			dir: d, session: f.Session, output: f.Output(out),
			run: func(ctx context.Context, out string, progress func(int, int)) (importReport, error) {
				s, err := f.Import(ctx, out, progress)
				if err != nil {
					return importReport{}, err
				}
				return sensoriumReport(s), nil
			},
		})
	}
	return sources, nil
}

func openFnn(dir string, opts *dataImportOptions, sources []importSource) ([]importSource, error) {
	if !fnnnpy.IsTree(dir) {
		if sensorium.IsFolder(dir) {
			return nil, fmt.Errorf("%s is a SENSORIUM 2023 mouse folder (data/, meta/), not an fnn tree: use fmcore data import sensorium %s", dir, dir)
		}
		return nil, fmt.Errorf("%s is neither an fnn tree (stimuli/, units/) nor a SENSORIUM 2023 mouse folder (data/, meta/)", dir)
	}
	session := fnnnpy.SessionOf(dir)
	if opts.Mouse != "" {
		session.Mouse = opts.Mouse
	}
	session.Session = opts.Session
	t, err := fnnnpy.Open(dir, session)
	if err != nil {
		return nil, err
	}
	return append(sources, importSource{
		dir: dir, session: session, output: t.Output(opts.Out),
		run: func(ctx context.Context, out string, progress func(int, int)) (importReport, error) {
			s, err := t.Import(ctx, out, progress)
			if err != nil {
				return importReport{}, err
			}
			return fnnReport(s), nil
		},
	}), nil
}

// prepareImportOut creates the output folder and checks it can be written.
func prepareImportOut(dir string) error {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return fmt.Errorf("--out %s is a file, not a folder: choose another path", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out %s: cannot create the folder: %w", dir, errors.Unwrap(err))
	}
	probe, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("--out %s is not writable: %w", dir, errors.Unwrap(err))
	}
	probe.Close()
	return os.Remove(probe.Name())
}

func sensoriumReport(s *sensorium.Summary) importReport {
	r := importReport{
		File: s.Recording, Session: s.Session, Units: s.Units, RateHz: s.RateHz,
		Trials: s.Trials, Frames: s.Frames, Stimuli: s.Stimuli, Repeated: s.Repeated,
		MinRepeat: s.MinRepeat, MaxRepeat: s.MaxRepeat, Videos: s.Videos, NewVideos: s.NewVideos,
		Ignored: s.NotImported,
	}
	r.Notes = append(r.Notes, fmt.Sprintf("video    value = %.6g + %.6g·byte (range from %s)", s.Scaling.Offset, s.Scaling.Scale, s.RangeSource))
	if s.Clipped > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("clipped  %d video values outside that range, to 0 or 255", s.Clipped))
	}
	if s.CutFrames > 0 {
		line := fmt.Sprintf("cut      %d NaN-padded frames at trial ends", s.CutFrames)
		if s.CutValues > 0 {
			line += fmt.Sprintf(", dropping %d finite values in them", s.CutValues)
		}
		r.Notes = append(r.Notes, line)
	}
	reasons := make([]string, 0, len(s.Skipped))
	for reason := range s.Skipped {
		reasons = append(reasons, reason)
	}
	sort.Strings(reasons)
	for _, reason := range reasons {
		r.Notes = append(r.Notes, fmt.Sprintf("skipped  %s (%s)", plural(s.Skipped[reason], "trial"), reason))
	}
	if s.NoResponses > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("NaN      responses of %s without a responses file", plural(s.NoResponses, "test trial")))
	}
	return r
}

func fnnReport(s *fnnnpy.Summary) importReport {
	return importReport{
		File: s.Recording, Session: s.Session, Units: s.Units, RateHz: s.RateHz,
		Trials: s.Trials, Frames: s.Frames, Stimuli: s.Stimuli, Repeated: s.Repeated,
		MinRepeat: s.MinRepeat, MaxRepeat: s.MaxRepeat, Videos: s.Videos, NewVideos: s.NewVideos,
		Ignored: s.NotImported,
	}
}

// printImportReport prints what one import wrote, a few lines per recording.
func printImportReport(w io.Writer, src string, r importReport) {
	fmt.Fprintf(w, "%s: mouse %s, session %s, %d units, %g Hz, from %s\n",
		r.File, r.Session.Mouse, r.Session.Session, r.Units, r.RateHz, src)
	fmt.Fprintf(w, "  trials   %s (%s min)\n", tierCounts(r.Trials), minutes(r.Frames, r.RateHz))
	fmt.Fprintf(w, "  stimuli  %d%s, videos %d (%d new)\n", r.Stimuli, repeatText(r.Repeated, r.MinRepeat, r.MaxRepeat), r.Videos, r.NewVideos)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
	if len(r.Ignored) > 0 {
		fmt.Fprintf(w, "  ignored  %s\n", strings.Join(r.Ignored, ", "))
	}
}

// printImportTotal prints the one-line total and the next step.
func printImportTotal(w io.Writer, reports []importReport, kept int, out string, took time.Duration) {
	trials, frames := map[data.Tier]int{}, map[data.Tier]int{}
	units, repeated, videos, fresh := 0, 0, 0, 0
	rate := 0.0
	for _, r := range reports {
		units += r.Units
		repeated += r.Repeated
		videos += r.Videos
		fresh += r.NewVideos
		rate = r.RateHz
		for t, n := range r.Trials {
			trials[t] += n
		}
		for t, n := range r.Frames {
			frames[t] += n
		}
	}
	if len(reports) == 0 {
		fmt.Fprintf(w, "nothing imported: %s already in %s (use --force to import again)\n", plural(kept, "recording"), out)
		return
	}
	keptText := ""
	if kept > 0 {
		keptText = fmt.Sprintf(" (%d kept)", kept)
	}
	fmt.Fprintf(w, "imported %s%s: %d units, trials %s, %s min, %d repeated stimuli, %d new videos, to %s in %s\n",
		plural(len(reports), "recording"), keptText, units, tierCounts(trials), minutes(frames, rate), repeated, fresh, out,
		took.Round(100*time.Millisecond))
	fmt.Fprintf(w, "next: fmcore data validate %s\n", out)
}

// tierCounts formats "train 4, validation 2, test 3", leaving out empty tiers.
func tierCounts(m map[data.Tier]int) string {
	var parts []string
	for _, t := range data.Tiers {
		if m[t] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", t, m[t]))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// minutes formats the total frames of every tier as minutes at rate.
func minutes(frames map[data.Tier]int, rate float64) string {
	n := 0
	for _, f := range frames {
		n += f
	}
	if rate <= 0 {
		return "0"
	}
	return fmt.Sprintf("%.3g", float64(n)/rate/60)
}

func repeatText(repeated, lo, hi int) string {
	switch {
	case repeated == 0:
		return ", none repeated"
	case lo == hi:
		return fmt.Sprintf(" (%d repeated, %d trials each)", repeated, hi)
	}
	return fmt.Sprintf(" (%d repeated, %d to %d trials each)", repeated, lo, hi)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
