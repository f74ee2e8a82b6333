package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/data/h5"
)

type dataInspectOptions struct {
	IO    IO
	Paths []string
	JSON  bool
}

func newDataInspectCmd(ios IO, runF func(context.Context, *dataInspectOptions) error) *cobra.Command {
	opts := &dataInspectOptions{IO: ios}
	if runF == nil {
		runF = runDataInspect
	}
	cmd := &cobra.Command{
		Use:   "inspect FILE|DIR...",
		Short: "Summarise recordings: units, trials, tiers, domains, repeats, NaNs, videos",
		Args:  minArgs(1, "one or more recording files or dataset folders"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			return runF(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

// recordingSummary is what data inspect reports about one recording file.
type recordingSummary struct {
	File            string             `json:"file"`
	Mouse           string             `json:"mouse"`
	Session         string             `json:"session"`
	RateHz          float64            `json:"rate_hz"`
	Units           int                `json:"units"`
	UnitsPerArea    map[string]int     `json:"units_per_area"`
	Trials          int                `json:"trials"`
	Minutes         float64            `json:"minutes"`
	TrialsPerTier   map[string]int     `json:"trials_per_tier"`
	MinutesPerTier  map[string]float64 `json:"minutes_per_tier"`
	TrialsPerDomain map[string]int     `json:"trials_per_domain"`
	Repeats         []stimulusRepeats  `json:"test_repeats"`
	NaNFraction     map[string]float64 `json:"nan_fraction"`
	Videos          []videoFormat      `json:"videos"`
	Problems        int                `json:"problems"`
}

// stimulusRepeats counts the repeats of the test stimuli of one domain.
type stimulusRepeats struct {
	Domain  string `json:"domain"`
	Stimuli int    `json:"stimuli"`
	Min     int    `json:"min_repeats"`
	Max     int    `json:"max_repeats"`
}

// videoFormat counts the referenced videos that share a size, rate and codec.
type videoFormat struct {
	Width  int     `json:"width"`
	Height int     `json:"height"`
	RateHz float64 `json:"rate_hz"`
	Codec  string  `json:"codec"`
	Files  int     `json:"files"`
	Error  string  `json:"error,omitempty"` // set for unreadable videos (Files counts them)
}

func runDataInspect(ctx context.Context, opts *dataInspectOptions) error {
	files, err := findRecordings(opts.Paths)
	if err != nil {
		return err
	}
	var sums []recordingSummary
	for _, f := range files {
		in := h5.Inspect(f)
		if in.Recording == nil {
			if len(in.Problems) > 0 {
				return errors.New(in.Problems[0].String())
			}
			return fmt.Errorf("%s: not a readable recording", f)
		}
		s := summarize(f, in)
		paths := videoPaths(f, in.Recording)
		s.Videos = videoFormats(probeVideos(ctx, distinct(paths)))
		if ctx.Err() != nil {
			return ctx.Err()
		}
		sums = append(sums, s)
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(sums)
	}
	for i, s := range sums {
		if i > 0 {
			fmt.Fprintln(opts.IO.Out)
		}
		printSummary(opts.IO.Out, s)
	}
	return nil
}

// summarize counts what a recording holds.
func summarize(file string, in h5.Inspection) recordingSummary {
	rec := in.Recording
	s := recordingSummary{
		File: file, Mouse: rec.Session.Mouse, Session: rec.Session.Session, RateHz: rec.RateHz,
		Units: rec.Units.Len(), UnitsPerArea: map[string]int{},
		Trials: len(rec.Trials), TrialsPerTier: map[string]int{}, MinutesPerTier: map[string]float64{},
		TrialsPerDomain: map[string]int{}, NaNFraction: map[string]float64{}, Problems: len(in.Problems),
	}
	for _, a := range rec.Units.Area {
		s.UnitsPerArea[a]++
	}
	type key struct{ domain, stimulus string }
	repeats := map[key]int{}
	for _, t := range rec.Trials {
		min := float64(t.Frames) / rec.RateHz / 60
		s.Minutes += min
		s.TrialsPerTier[string(t.Tier)]++
		s.MinutesPerTier[string(t.Tier)] += min
		s.TrialsPerDomain[string(t.Domain)]++
		if t.Tier == data.TierTest {
			repeats[key{string(t.Domain), t.Stimulus}]++
		}
	}
	byDomain := map[string]*stimulusRepeats{}
	for k, n := range repeats {
		r, ok := byDomain[k.domain]
		if !ok {
			r = &stimulusRepeats{Domain: k.domain, Min: n, Max: n}
			byDomain[k.domain] = r
		}
		r.Stimuli++
		r.Min, r.Max = min(r.Min, n), max(r.Max, n)
	}
	for _, d := range sortedKeys(byDomain) {
		s.Repeats = append(s.Repeats, *byDomain[d])
	}
	var resp, pupil, running, eye h5.Counts
	for _, t := range in.Trials {
		add(&resp, t.Responses)
		add(&pupil, t.Pupil)
		add(&running, t.Running)
		add(&eye, t.Eye)
	}
	s.NaNFraction["responses"] = resp.NaNFraction()
	s.NaNFraction["pupil"] = pupil.NaNFraction()
	s.NaNFraction["running"] = running.NaNFraction()
	s.NaNFraction["eye"] = eye.NaNFraction()
	return s
}

func add(dst *h5.Counts, c h5.Counts) {
	dst.Total += c.Total
	dst.NaN += c.NaN
	dst.Inf += c.Inf
}

// videoFormats groups probed videos by size, rate and codec.
func videoFormats(checks map[string]videoCheck) []videoFormat {
	groups := map[videoFormat]int{}
	for _, c := range checks {
		f := videoFormat{Width: c.Info.Width, Height: c.Info.Height, RateHz: c.Info.RateHz, Codec: c.Info.Codec}
		if c.Err != nil {
			f = videoFormat{Error: "unreadable or missing"}
		}
		groups[f]++
	}
	out := make([]videoFormat, 0, len(groups))
	for f, n := range groups {
		f.Files = n
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Files > out[j].Files })
	return out
}

func printSummary(w io.Writer, s recordingSummary) {
	fmt.Fprintf(w, "%s\n", s.File)
	fmt.Fprintf(w, "  mouse %s, session %s, %g Hz\n", s.Mouse, s.Session, s.RateHz)
	fmt.Fprintf(w, "  units    %d: %s\n", s.Units, countList(s.UnitsPerArea, []string{"V1", "LM", "AL", "RL"}))
	fmt.Fprintf(w, "  trials   %d, %.1f min\n", s.Trials, s.Minutes)
	for _, t := range data.Tiers {
		if n := s.TrialsPerTier[string(t)]; n > 0 {
			fmt.Fprintf(w, "    %-10s %4d trials, %6.1f min\n", t, n, s.MinutesPerTier[string(t)])
		}
	}
	domains := make([]string, len(data.Domains))
	for i, d := range data.Domains {
		domains[i] = string(d)
	}
	fmt.Fprintf(w, "  domains  %s\n", countList(s.TrialsPerDomain, domains))
	for _, r := range s.Repeats {
		rep := fmt.Sprint(r.Min)
		if r.Max != r.Min {
			rep = fmt.Sprintf("%d–%d", r.Min, r.Max)
		}
		fmt.Fprintf(w, "  test     %-8s %d stimuli × %s repeats\n", r.Domain, r.Stimuli, rep)
	}
	fmt.Fprintf(w, "  NaN      responses %s, pupil %s, running %s, eye %s\n",
		percent(s.NaNFraction["responses"]), percent(s.NaNFraction["pupil"]),
		percent(s.NaNFraction["running"]), percent(s.NaNFraction["eye"]))
	for _, v := range s.Videos {
		if v.Error != "" {
			fmt.Fprintf(w, "  videos   %d %s (run fmcore data validate)\n", v.Files, v.Error)
			continue
		}
		fmt.Fprintf(w, "  videos   %d × %d×%d at %g Hz (%s)\n", v.Files, v.Width, v.Height, v.RateHz, v.Codec)
	}
	if s.Problems > 0 {
		fmt.Fprintf(w, "  problems %d (run fmcore data validate for the list)\n", s.Problems)
	}
}

// countList formats counts as "a 3, b 2", known keys first in the given order.
func countList(m map[string]int, order []string) string {
	var parts []string
	seen := map[string]bool{}
	for _, k := range order {
		if n, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
			seen[k] = true
		}
	}
	for _, k := range sortedKeys(m) {
		if !seen[k] {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func percent(f float64) string {
	if f == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.2f%%", 100*f)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
