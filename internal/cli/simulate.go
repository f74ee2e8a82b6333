package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/data/h5"
	"github.com/fmcore/fmcore/data/video"
	"github.com/fmcore/fmcore/internal/sim"
)

// manifestName is the file that marks a folder as a simulated dataset.
const manifestName = "dataset.json"

type simulateOptions struct {
	IO      IO
	Out     string
	Preset  string
	Domains string
	Force   bool
	Config  sim.Config
	// changed reports whether a flag was set on the command line.
	changed func(name string) bool
}

func newSimulateCmd(ios IO, runF func(context.Context, *simulateOptions) error) *cobra.Command {
	opts := &simulateOptions{IO: ios}
	if runF == nil {
		runF = runSimulate
	}
	c := &opts.Config
	cmd := &cobra.Command{
		Use:   "simulate --out DIR",
		Short: "Write a synthetic dataset of digital mice with known ground truth",
		Long: `simulate writes recordings of "digital mice" watching videos: natural-like movies for
training, validation and repeated test clips, and out-of-domain stimuli (drifting Gabors,
flashing dots, random-dot kinematograms, directional pink noise, static images), all as
lossless mp4 shared across mice. Every recording carries the ground truth of its units
(/units/truth) and the noise-free rate of every trial. A preset sets every size at once;
flags given explicitly override it.`,
		Example: `  fmcore simulate --preset demo --out data/demo
  fmcore simulate --preset small --out data/small
  fmcore simulate --out data/custom --mice 4 --units 500 --minutes 10 --domains gabor,rdk`,
		Args: exactArgs(0, "no positional arguments (use --out DIR)"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.changed = func(name string) bool { return cmd.Flags().Changed(name) }
			return runF(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Out, "out", "", "dataset folder to write (required)")
	f.StringVar(&opts.Preset, "preset", "", "base sizes: demo, small or paper (flags override)")
	f.IntVar(&c.Mice, "mice", 14, "foundation mice, numbered 1..N")
	f.IntVar(&c.NewMice, "new-mice", 2, "extra mice for fine-tuning, numbered after the foundation mice")
	f.IntVar(&c.Units, "units", 1000, "units per mouse")
	f.Float64Var(&c.Minutes, "minutes", 20, "natural-movie training and validation minutes per mouse")
	f.IntVar(&c.TestClips, "test-clips", 6, "natural test clips, each shown --repeats times")
	f.IntVar(&c.Repeats, "repeats", 10, "repeats of every test clip")
	f.StringVar(&opts.Domains, "domains", "gabor,dots,rdk,noise,image", "out-of-domain test stimuli (comma-separated; empty for none)")
	f.IntVar(&c.OODClips, "domain-clips", 1, "clips per out-of-domain kind, each shown --repeats times")
	f.Float64Var(&c.ClipSeconds, "clip-seconds", 10, "length of every clip (trial) in seconds")
	f.IntVar(&c.Width, "width", 64, "video width in pixels")
	f.IntVar(&c.Height, "height", 36, "video height in pixels")
	f.Float64Var(&c.RateHz, "rate", 30, "frame rate and recording clock in Hz")
	f.Float64Var(&c.Reliability, "reliability", 0.7, "noise level: median CC_max of the units at 10 repeats, in (0,1)")
	f.Uint64Var(&c.Seed, "seed", 1, "random seed; identical seeds give identical datasets")
	f.BoolVar(&opts.Force, "force", false, "replace a dataset already in --out")
	return cmd
}

// effectiveConfig merges the preset (if any) with the flags the user set.
func (opts *simulateOptions) effectiveConfig() (sim.Config, error) {
	flags := opts.Config
	domains, err := sim.ParseDomains(opts.Domains)
	if err != nil {
		return sim.Config{}, usageError{err}
	}
	flags.Domains = domains
	if opts.Preset == "" {
		base, _ := sim.PresetConfig(sim.PresetSmall) // the defaults the flags do not carry
		flags.ValidationFraction = base.ValidationFraction
		return flags, nil
	}
	cfg, err := sim.PresetConfig(sim.Preset(opts.Preset))
	if err != nil {
		return sim.Config{}, usageError{fmt.Errorf("--preset: %w", err)}
	}
	override(opts.changed("mice"), &cfg.Mice, flags.Mice)
	override(opts.changed("new-mice"), &cfg.NewMice, flags.NewMice)
	override(opts.changed("units"), &cfg.Units, flags.Units)
	override(opts.changed("minutes"), &cfg.Minutes, flags.Minutes)
	override(opts.changed("test-clips"), &cfg.TestClips, flags.TestClips)
	override(opts.changed("repeats"), &cfg.Repeats, flags.Repeats)
	override(opts.changed("domain-clips"), &cfg.OODClips, flags.OODClips)
	override(opts.changed("clip-seconds"), &cfg.ClipSeconds, flags.ClipSeconds)
	override(opts.changed("width"), &cfg.Width, flags.Width)
	override(opts.changed("height"), &cfg.Height, flags.Height)
	override(opts.changed("rate"), &cfg.RateHz, flags.RateHz)
	override(opts.changed("reliability"), &cfg.Reliability, flags.Reliability)
	override(opts.changed("seed"), &cfg.Seed, flags.Seed)
	override(opts.changed("domains"), &cfg.Domains, domains)
	return cfg, nil
}

// override sets *dst to v when the flag was given on the command line.
func override[T any](given bool, dst *T, v T) {
	if given {
		*dst = v
	}
}

func runSimulate(ctx context.Context, opts *simulateOptions) error {
	if opts.Out == "" {
		return usagef("--out is required: name the dataset folder to write")
	}
	cfg, err := opts.effectiveConfig()
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	if err := prepareOutDir(opts.Out, opts.Force); err != nil {
		return err
	}
	start := time.Now()
	bar := newProgress(opts.IO.Err, "simulate", "trials")
	sum, err := sim.Run(ctx, cfg, &fileSink{dir: opts.Out}, bar.Update)
	bar.Finish()
	if err != nil {
		return err
	}
	if err := writeJSONAtomic(filepath.Join(opts.Out, manifestName), sum.Manifest); err != nil {
		return err
	}
	if opts.Force {
		removeStale(opts.Out, sum.Manifest)
	}
	fmt.Fprintf(opts.IO.Out, "wrote %d mice (%d new), %d units each, %d trials and %d videos to %s in %s\n",
		cfg.Mice+cfg.NewMice, cfg.NewMice, cfg.Units, sum.Trials, sum.Videos, opts.Out, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// prepareOutDir creates dir and checks it can be written, refusing to overwrite an
// existing dataset unless force is set. It writes nothing else.
func prepareOutDir(dir string, force bool) error {
	if st, err := os.Stat(dir); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("--out %s is a file, not a folder: choose another path", dir)
		}
		if !force {
			if _, err := os.Stat(filepath.Join(dir, manifestName)); err == nil {
				return fmt.Errorf("--out %s already holds a dataset (%s): use --force to replace it, or choose another folder", dir, manifestName)
			}
			if m, _ := filepath.Glob(filepath.Join(dir, "*.h5")); len(m) > 0 {
				return fmt.Errorf("--out %s already holds recordings (%s): use --force to replace them, or choose another folder", dir, filepath.Base(m[0]))
			}
		}
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

// removeStale deletes recordings and videos of an earlier dataset in the same folder
// that the new one does not contain.
func removeStale(dir string, m sim.Manifest) {
	keep := map[string]bool{}
	for _, mm := range m.Mice {
		keep[filepath.Join(dir, mm.File)] = true
	}
	for _, c := range m.Stimuli {
		keep[filepath.Join(dir, c.Video)] = true
	}
	for _, pattern := range []string{"mouse*.h5", "videos/*.mp4"} {
		old, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, p := range old {
			if !keep[p] {
				os.Remove(p)
			}
		}
	}
}

// writeJSONAtomic writes v as indented JSON to path through a temporary file.
func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// writeFileAtomic writes b to a temporary file beside path, syncs it and renames it
// into place, so path holds either the old or the new content, never a part.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// fileSink writes the simulator's output with data/video and data/h5 into a folder.
type fileSink struct{ dir string }

func (s *fileSink) path(name string) (string, error) {
	p := filepath.Join(s.dir, filepath.FromSlash(name))
	if strings.Contains(name, "/") {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
	}
	return p, nil
}

func (s *fileSink) CreateVideo(name string, width, height int, rateHz float64) (sim.VideoWriter, error) {
	p, err := s.path(name)
	if err != nil {
		return nil, err
	}
	return video.Create(p, width, height, rateHz)
}

func (s *fileSink) DecodeVideo(ctx context.Context, name string, width, height int, rateHz float64) ([]byte, int, error) {
	return video.ReadAll(ctx, filepath.Join(s.dir, filepath.FromSlash(name)), video.Params{Width: width, Height: height, RateHz: rateHz})
}

func (s *fileSink) CreateRecording(name string, rec data.Recording) (sim.RecordingWriter, error) {
	p, err := s.path(name)
	if err != nil {
		return nil, err
	}
	return h5.Create(p, rec)
}
