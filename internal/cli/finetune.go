package cli

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/internal/config"
	"github.com/fmcore/fmcore/model"
)

type finetuneOptions struct {
	IO          IO
	NewMouse    int
	From        string
	Data        string
	Config      string
	Out         string
	Minutes     float64
	FromScratch bool
	Epochs      int
	Seed        int64
	Resume      bool
}

func newFinetuneCmd(ios IO, runF func(context.Context, *finetuneOptions) error) *cobra.Command {
	opts := &finetuneOptions{IO: ios}
	if runF == nil {
		runF = runFinetune
	}
	cmd := &cobra.Command{
		Use:   "finetune --new-mouse 15 --from runs/foundation",
		Short: "Adapt the frozen foundation core to a new mouse",
		Long: `finetune loads the foundation core and the modulation LSTM of a trained run, freezes
them, and trains the new mouse's own perspective, modulation MLP and readout (MODEL.md 8.2).
--minutes keeps only the first minutes of the mouse's training trials (data-efficiency
curves); --from-scratch trains an individual model of the same architecture, nothing
loaded or frozen, as the baseline. --resume continues a stopped fine-tuning from its last
checkpoint, with the settings it started with.`,
		Example: `  fmcore finetune --new-mouse 15 --from runs/foundation
  fmcore finetune --new-mouse 15 --from runs/foundation --minutes 8 --out runs/m15-8min
  fmcore finetune --new-mouse 15 --from-scratch --minutes 8 --out runs/m15-8min-scratch
  fmcore finetune --new-mouse 15 --out runs/m15-8min --resume`,
		Args: exactArgs(0, "no positional arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error { return runF(cmd.Context(), opts) },
	}
	f := cmd.Flags()
	f.IntVar(&opts.NewMouse, "new-mouse", 0, "mouse to adapt to (required)")
	f.StringVar(&opts.From, "from", "runs/foundation", "foundation run folder (its best model is used)")
	f.StringVar(&opts.Data, "data", "", "dataset folder (default: the built-in simulated dataset)")
	f.StringVar(&opts.Config, "config", "", "config for the training recipe (default: the foundation run's; with --from-scratch: small)")
	f.StringVar(&opts.Out, "out", "", "run folder (default: runs/mouse<N>)")
	f.Float64Var(&opts.Minutes, "minutes", 0, "keep only the first N minutes of training trials (0: all)")
	f.BoolVar(&opts.FromScratch, "from-scratch", false, "train an individual model: nothing loaded or frozen")
	f.IntVar(&opts.Epochs, "epochs", 0, "epochs (default: the config's)")
	f.Int64Var(&opts.Seed, "seed", -1, "seed (default: the config's)")
	f.BoolVar(&opts.Resume, "resume", false, "continue the fine-tuning in --out from its last checkpoint (--epochs may raise its length)")
	return cmd
}

func runFinetune(ctx context.Context, opts *finetuneOptions) error {
	if opts.NewMouse < 1 {
		return usagef("--new-mouse is required: the number of the mouse to adapt to (1 or more)")
	}
	if !(opts.Minutes >= 0) || math.IsInf(opts.Minutes, 0) {
		return usagef("--minutes %g, want 0 (all) or more", opts.Minutes)
	}
	if opts.Out == "" {
		opts.Out = filepath.Join("runs", "mouse"+strconv.Itoa(opts.NewMouse))
	}
	ckpt := filepath.Join(opts.Out, "checkpoint")
	if opts.Resume {
		return resumeFinetune(ctx, opts, ckpt)
	}
	if _, err := os.Stat(ckpt); err == nil {
		return fmt.Errorf("--out %s already holds a run: use --resume to continue it, or choose another folder", opts.Out)
	}
	var foundation *model.Network
	var cfg config.File
	if !opts.FromScratch {
		src := filepath.Join(opts.From, "best")
		net, _, saved, err := loadModel(src)
		if err != nil {
			return fmt.Errorf("--from: %w (train one with fmcore train)", err)
		}
		for _, k := range net.SessionKeys() {
			if mouseOf(k) == strconv.Itoa(opts.NewMouse) {
				return fmt.Errorf("--new-mouse %d: the foundation in %s was trained on that mouse: choose a mouse it has not seen", opts.NewMouse, opts.From)
			}
		}
		foundation, cfg = net, saved.Config
	} else {
		var err error
		if cfg, err = config.Load("small"); err != nil {
			return err
		}
	}
	if opts.Config != "" {
		c, err := config.Load(opts.Config)
		if err != nil {
			return err
		}
		if foundation != nil && !reflect.DeepEqual(c.Model, cfg.Model) {
			return fmt.Errorf("--config %s describes another network than the foundation's: give only the recipe you want, or leave --config out", opts.Config)
		}
		cfg = c
	}
	if opts.Epochs > 0 {
		cfg.Train.Epochs = opts.Epochs
	}
	if opts.Seed >= 0 {
		cfg.Train.Seed = uint64(opts.Seed)
	}
	dir, mice, err := newMouseData(ctx, opts)
	if err != nil {
		return err
	}
	job := &trainJob{io: opts.IO, cfg: cfg, out: opts.Out}
	if err := job.open(ctx, mice, nil, opts.Minutes); err != nil {
		return err
	}
	defer job.close()
	var specs []model.SessionSpec
	for _, s := range job.sessions {
		specs = append(specs, model.SessionSpec{Key: s.key, Units: s.data.Recording().Units.Len()})
	}
	if job.net, err = model.Build(cfg.Model, specs, cfg.Train.Seed); err != nil {
		return err
	}
	if foundation != nil {
		if err := transfer(foundation, job.net); err != nil {
			return err
		}
		job.frozen = []string{"core.", "modulation.lstm."}
	}
	job.finetune = &finetuneInfo{Mouse: opts.NewMouse, Frozen: job.frozen, Minutes: opts.Minutes}
	job.best = math.Inf(-1)
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", opts.Out, err)
	}
	if err := job.writeRunInfo(dir); err != nil {
		return err
	}
	slog.Info("fine-tuning", "mouse", opts.NewMouse, "sessions", len(job.sessions), "frozen", strings.Join(job.frozen, " "), "minutes", opts.Minutes)
	return job.run(ctx, 0, nil, nil)
}

// resumeFinetune continues the fine-tuning run whose checkpoint is ckpt from its last
// epoch, with the mouse, frozen modules, minutes and recipe it started with.
func resumeFinetune(ctx context.Context, opts *finetuneOptions, ckpt string) error {
	if opts.Config != "" || opts.FromScratch || opts.Minutes != 0 || opts.Seed >= 0 {
		return usagef("--resume continues a run with the settings it started with: leave out --config, --from-scratch, --minutes and --seed")
	}
	if _, err := os.Stat(ckpt); err != nil {
		return fmt.Errorf("--resume: --out %s holds no checkpoint to continue (a run stopped in its first epoch keeps none): start it without --resume", opts.Out)
	}
	net, mom, saved, err := loadModel(ckpt)
	if err != nil {
		return fmt.Errorf("--resume: %w", err)
	}
	ft := saved.Finetune
	if ft == nil {
		return fmt.Errorf("--resume: %s holds a foundation run, not a fine-tuning: continue it with fmcore train --resume", opts.Out)
	}
	if ft.Mouse != opts.NewMouse {
		return fmt.Errorf("--resume: the run in %s fine-tunes mouse %d, not --new-mouse %d", opts.Out, ft.Mouse, opts.NewMouse)
	}
	cfg := saved.Config
	if opts.Epochs > 0 {
		cfg.Train.Epochs = opts.Epochs
	}
	_, mice, err := newMouseData(ctx, opts)
	if err != nil {
		return err
	}
	job := &trainJob{io: opts.IO, cfg: cfg, out: opts.Out, frozen: ft.Frozen, finetune: ft}
	if err := job.open(ctx, mice, nil, ft.Minutes); err != nil {
		return err
	}
	defer job.close()
	for _, s := range job.sessions {
		if _, ok := net.Sessions[s.key]; !ok {
			return fmt.Errorf("--resume: the run in %s has no session %s: give the --data it was fine-tuned on", opts.Out, s.key)
		}
	}
	job.net, job.best = net, saved.BestCorr
	slog.Info("resuming", "run", opts.Out, "epoch", saved.Epoch+1)
	return job.run(ctx, saved.Epoch+1, mom, nil)
}

// newMouseData returns the dataset folder (--data or the built-in dataset) and the new
// mouse's recordings in it.
func newMouseData(ctx context.Context, opts *finetuneOptions) (string, []data.Mouse, error) {
	dir := opts.Data
	if dir == "" {
		var err error
		if dir, err = defaultDataset(ctx, opts.IO); err != nil {
			return "", nil, err
		}
	}
	mice, err := findMice(dir, strconv.Itoa(opts.NewMouse))
	return dir, mice, err
}

// transfer copies the foundation's core, and the modulation LSTM of its first session
// (the public transfer recipe copies one scan's, MODEL.md 8.2), into every session of
// the new network; the rest of the new network keeps its fresh initialisation.
func transfer(from, to *model.Network) error {
	for _, sp := range from.CoreParams() {
		if err := to.SetValue(sp.Name, from.Value(sp.Name)); err != nil {
			return fmt.Errorf("transfer the core: %w", err)
		}
	}
	src := from.SessionKeys()[0]
	for _, key := range to.SessionKeys() {
		for _, sp := range to.SessionParams(key) {
			if strings.HasPrefix(sp.Name, "modulation.lstm.") {
				if err := to.SetValue(model.ParamKey(key, sp.Name), from.Value(model.ParamKey(src, sp.Name))); err != nil {
					return fmt.Errorf("transfer the modulation LSTM: %w", err)
				}
			}
		}
	}
	return nil
}
