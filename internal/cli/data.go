package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/data/h5"
	"github.com/fmcore/fmcore/data/video"
)

func newDataCmd(ios IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Inspect, validate and import recordings",
	}
	cmd.AddCommand(newDataInspectCmd(ios, nil), newDataValidateCmd(ios, nil), newDataImportCmd(ios, nil))
	return cmd
}

// videoCheck is what a recording needs to know about one referenced video.
type videoCheck struct {
	Info video.Info
	Err  error
}

// probeVideos probes every distinct path with a few ffprobe processes at once.
func probeVideos(ctx context.Context, paths []string) map[string]videoCheck {
	out := make(map[string]videoCheck, len(paths))
	var mu sync.Mutex
	work := make(chan string)
	var wg sync.WaitGroup
	for range 4 { // ffprobe is mostly process start-up: 4 overlap well on 2 cores
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				info, err := video.Probe(ctx, p)
				mu.Lock()
				out[p] = videoCheck{info, err}
				mu.Unlock()
			}
		}()
	}
	for _, p := range paths {
		work <- p
	}
	close(work)
	wg.Wait()
	return out
}

// videoPaths returns the absolute path of every trial's video, keyed by the trial index.
func videoPaths(file string, rec *data.Recording) []string {
	dir := filepath.Dir(file)
	paths := make([]string, len(rec.Trials))
	for i, t := range rec.Trials {
		if t.Video == "" {
			continue
		}
		p := t.Video
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		paths[i] = p
	}
	return paths
}

// distinct returns the sorted distinct non-empty strings of xs.
func distinct(xs ...[]string) []string {
	set := map[string]bool{}
	for _, x := range xs {
		for _, s := range x {
			if s != "" {
				set[s] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// findRecordings lists the recording files (*.h5, *.hdf5) under each argument, which may
// be a file or a directory (searched recursively).
func findRecordings(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("%s: no such file or directory", a)
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		err = data.WalkFolder(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && isRecordingName(p) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("search %s for recordings: %w", a, err)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no recordings (*.h5) in %s: point at a dataset folder or at recording files", strings.Join(args, ", "))
	}
	return files, nil
}

func isRecordingName(p string) bool {
	ext := strings.ToLower(filepath.Ext(p))
	return ext == ".h5" || ext == ".hdf5"
}

// ---------------------------------------------------------------------------------------
// data validate

type dataValidateOptions struct {
	IO    IO
	Paths []string
	JSON  bool
}

func newDataValidateCmd(ios IO, runF func(context.Context, *dataValidateOptions) error) *cobra.Command {
	opts := &dataValidateOptions{IO: ios}
	if runF == nil {
		runF = runDataValidate
	}
	cmd := &cobra.Command{
		Use:   "validate DIR|FILE...",
		Short: "Check every recording and every referenced video; report all problems",
		Long: `validate checks every recording (*.h5) under the given folders or files against the
recording format (docs/FORMAT.md), and every video the recordings reference: that it
exists, is a readable video and holds at least as many frames as each trial that uses it.
It reports every problem found, each naming the file, the object and what is wrong, and
exits non-zero when there is any.`,
		Args: minArgs(1, "a dataset folder or recording files"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			return runF(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	return cmd
}

// validateReport is the result of data validate (its --json form).
type validateReport struct {
	Recordings int            `json:"recordings"`
	Trials     int            `json:"trials"`
	Videos     int            `json:"videos"`
	Problems   []data.Problem `json:"problems"`
}

func runDataValidate(ctx context.Context, opts *dataValidateOptions) error {
	files, err := findRecordings(opts.Paths)
	if err != nil {
		return err
	}
	rep := validateReport{Problems: []data.Problem{}}
	recs := make([]*data.Recording, len(files))
	paths := make([][]string, len(files))
	for i, f := range files {
		rec, problems := h5.Validate(f)
		rep.Problems = append(rep.Problems, problems...)
		if rec != nil {
			recs[i] = rec
			paths[i] = videoPaths(f, rec)
			rep.Recordings++
			rep.Trials += len(rec.Trials)
		}
	}
	all := distinct(paths...)
	rep.Videos = len(all)
	checks := probeVideos(ctx, all)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for i, f := range files {
		if recs[i] != nil {
			rep.Problems = append(rep.Problems, videoProblems(f, recs[i], paths[i], checks)...)
		}
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		for _, p := range rep.Problems {
			fmt.Fprintln(opts.IO.Out, p.String())
		}
		fmt.Fprintf(opts.IO.Out, "checked %d recordings, %d trials, %d videos: %d problems\n",
			rep.Recordings, rep.Trials, rep.Videos, len(rep.Problems))
	}
	if len(rep.Problems) > 0 {
		return fmt.Errorf("validation failed: %d problems in %s", len(rep.Problems), strings.Join(opts.Paths, ", "))
	}
	return nil
}

// videoProblems checks each trial's video: present, a video, long enough at the
// recording's rate. A video shared by many trials is reported once per recording, naming
// the first trial and how many use it.
func videoProblems(file string, rec *data.Recording, paths []string, checks map[string]videoCheck) []data.Problem {
	type use struct {
		first string
		n     int
		need  int // the longest trial's T
	}
	uses := map[string]*use{}
	var order []string
	var out []data.Problem
	for i, t := range rec.Trials {
		p := paths[i]
		if p == "" {
			out = append(out, data.Problem{File: file, Object: "/trials/" + t.ID, Message: "attribute video is empty: name the stimulus video file"})
			continue
		}
		u, ok := uses[p]
		if !ok {
			u = &use{first: t.ID}
			uses[p] = u
			order = append(order, p)
		}
		u.n++
		u.need = max(u.need, t.Frames)
	}
	for _, p := range order {
		u := uses[p]
		obj := "/trials/" + u.first
		if u.n > 1 {
			obj += fmt.Sprintf(" (and %d more trials)", u.n-1)
		}
		c := checks[p]
		switch {
		case c.Err != nil:
			out = append(out, data.Problem{File: file, Object: obj, Message: c.Err.Error()})
		case c.Info.OutputFrames(rec.RateHz) < u.need:
			out = append(out, data.Problem{File: file, Object: obj, Message: fmt.Sprintf(
				"video %s is too short: %d frames at %g Hz, the trial needs %d", p, c.Info.OutputFrames(rec.RateHz), rec.RateHz, u.need)})
		}
	}
	return out
}
