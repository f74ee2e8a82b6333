package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/internal/buildinfo"
	"github.com/fmcore/fmcore/internal/config"
	"github.com/fmcore/fmcore/internal/plots"
	"github.com/fmcore/fmcore/internal/train"
	"github.com/fmcore/fmcore/model"
)

type trainOptions struct {
	IO     IO
	Mice   string
	Data   string
	Config string
	Out    string
	Epochs int
	Seed   int64
	Resume bool
}

func newTrainCmd(ios IO, runF func(context.Context, *trainOptions) error) *cobra.Command {
	opts := &trainOptions{IO: ios}
	if runF == nil {
		runF = runTrain
	}
	cmd := &cobra.Command{
		Use:   "train --mice 1-14",
		Short: "Train the foundation model: one shared core over every session of the selected mice",
		Long: `train learns one shared core over every session of the selected mice, and each session's
own perspective, modulation and readout (MODEL.md 7-8). Each step draws a batch from every
session; the core follows the mean gradient over sessions. A checkpoint is written every
epoch (and the best by validation correlation); --resume continues a stopped run.`,
		Example: `  fmcore train --mice 1-14
  fmcore train --mice 1,3,5-7 --data data/small --config configs/small.yaml --out runs/first`,
		Args: exactArgs(0, "no positional arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error { return runF(cmd.Context(), opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.Mice, "mice", "all", "mice to train on: 1-14, 1,3,5-7 or all")
	f.StringVar(&opts.Data, "data", "", "dataset folder (default: the built-in simulated dataset, made on first use)")
	f.StringVar(&opts.Config, "config", "small", "config file, or a shipped config: small, tiny, paper")
	f.StringVar(&opts.Out, "out", "runs/foundation", "run folder")
	f.IntVar(&opts.Epochs, "epochs", 0, "epochs (default: the config's)")
	f.Int64Var(&opts.Seed, "seed", -1, "seed (default: the config's)")
	f.BoolVar(&opts.Resume, "resume", false, "continue the run in --out from its last checkpoint")
	return cmd
}

// runInfo is run.json: what a run was made from.
type runInfo struct {
	Command string     `json:"command"`
	Version string     `json:"fmcore_version"`
	Seed    uint64     `json:"seed"`
	Data    string     `json:"data"`
	Files   []fileHash `json:"files"`
	Started time.Time  `json:"started"`
}

type fileHash struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

func runTrain(ctx context.Context, opts *trainOptions) error {
	cfg, err := config.Load(opts.Config)
	if err != nil {
		return err
	}
	if opts.Epochs < 0 {
		return usagef("--epochs %d, want at least 1", opts.Epochs)
	}
	if opts.Epochs > 0 {
		cfg.Train.Epochs = opts.Epochs
	}
	if opts.Seed >= 0 {
		cfg.Train.Seed = uint64(opts.Seed)
	}
	ckpt := filepath.Join(opts.Out, "checkpoint")
	if !opts.Resume {
		if _, err := os.Stat(ckpt); err == nil {
			return fmt.Errorf("--out %s already holds a run: use --resume to continue it, or choose another folder", opts.Out)
		}
	}
	dir := opts.Data
	if dir == "" {
		if dir, err = defaultDataset(ctx, opts.IO); err != nil {
			return err
		}
	}
	mice, err := findMice(dir, opts.Mice)
	if err != nil {
		return err
	}
	job := &trainJob{io: opts.IO, cfg: cfg, out: opts.Out}
	if err := job.open(ctx, mice, nil, 0); err != nil {
		return err
	}
	defer job.close()
	first := 0
	var mom map[string][]float32
	if opts.Resume {
		net, m, saved, err := loadModel(ckpt)
		if err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
		cfg, job.cfg = saved.Config, saved.Config
		if opts.Epochs > 0 {
			cfg.Train.Epochs, job.cfg.Train.Epochs = opts.Epochs, opts.Epochs
		}
		for _, s := range job.sessions {
			if _, ok := net.Sessions[s.key]; !ok {
				return fmt.Errorf("--resume: the run in %s has no session %s: train with the same --mice", opts.Out, s.key)
			}
		}
		job.net, mom, first, job.best = net, m, saved.Epoch+1, saved.BestCorr
		slog.Info("resuming", "run", opts.Out, "epoch", first)
	} else {
		var specs []model.SessionSpec
		for _, s := range job.sessions {
			specs = append(specs, model.SessionSpec{Key: s.key, Units: s.data.Recording().Units.Len()})
		}
		if job.net, err = model.Build(cfg.Model, specs, cfg.Train.Seed); err != nil {
			return err
		}
		job.best = math.Inf(-1)
		if err := os.MkdirAll(opts.Out, 0o755); err != nil {
			return fmt.Errorf("--out %s: %w", opts.Out, err)
		}
		if err := job.writeRunInfo(dir); err != nil {
			return err
		}
	}
	return job.run(ctx, first, mom, nil)
}

// trainJob is a training run: its sessions, network and run folder. finetune uses it too.
type trainJob struct {
	io       IO
	cfg      config.File
	out      string
	sessions []*session
	net      *model.Network
	best     float64
	frozen   []string
	finetune *finetuneInfo // recorded in the checkpoints of a fine-tuning run
}

// open opens and prepares every session of the mice (with given statistics, if any).
func (j *trainJob) open(ctx context.Context, mice []data.Mouse, stats map[string]data.Stats, maxMinutes float64) error {
	for _, m := range mice {
		for _, sf := range m.Sessions {
			var st *data.Stats
			if s, ok := stats[sf.Session.String()]; ok {
				st = &s
			}
			s, err := openSession(ctx, sf.Path, st, maxMinutes)
			if err != nil {
				return err
			}
			j.sessions = append(j.sessions, s)
			rep := s.data.Report()
			slog.Debug("session", "key", s.key, "train", s.data.Kept(data.TierTrain), "validation", s.data.Kept(data.TierValidation), "report", rep.String())
		}
	}
	return nil
}

func (j *trainJob) close() {
	for _, s := range j.sessions {
		s.file.Close()
	}
}

// writeRunInfo records the command, version, seed and data (file names and hashes).
func (j *trainJob) writeRunInfo(dir string) error {
	info := runInfo{Command: strings.Join(os.Args, " "), Version: buildinfo.Read().String(), Seed: j.cfg.Train.Seed, Data: dir, Started: time.Now().UTC()}
	for _, s := range j.sessions {
		h, n, err := hashFile(s.file.Path())
		if err != nil {
			return err
		}
		info.Files = append(info.Files, fileHash{Path: s.file.Path(), SHA256: h, Bytes: n})
	}
	if err := writeJSONAtomic(filepath.Join(j.out, "run.json"), info); err != nil {
		return err
	}
	text, err := j.cfg.Marshal()
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(j.out, "config.yaml"), text)
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// run trains from epoch first, checkpointing every epoch into out/checkpoint and the best
// epoch (by validation correlation) into out/best, logging every epoch to out/log.jsonl
// and drawing out/curve.png. On cancellation the last complete epoch's checkpoint stays.
func (j *trainJob) run(ctx context.Context, first int, mom map[string][]float32, only []string) error {
	frames, err := frameSource(j.cfg.Model, j.sessions[0].data.Recording().RateHz)
	if err != nil {
		return err
	}
	defer frames.Close()
	var ts []train.Session
	for _, s := range j.sessions {
		if only != nil && !contains(only, s.key) {
			continue
		}
		tsess, err := loaders(s, frames, j.cfg.Train)
		if err != nil {
			return err
		}
		ts = append(ts, tsess)
	}
	if first == 0 && j.cfg.Train.Positions == train.PositionsRFMap {
		if err := j.mapPositions(ctx, frames, ts); err != nil {
			return err
		}
	}
	slog.Info("compiling", "sessions", len(ts), "window", j.cfg.Train.Window, "batch", j.cfg.Train.BatchSize)
	tr, err := train.New(j.net, ts, j.cfg.Train, j.frozen...)
	if err != nil {
		return err
	}
	if mom != nil {
		if err := tr.Optimizer().SetState(mom); err != nil {
			return fmt.Errorf("--resume: optimizer state: %w", err)
		}
	}
	stats := map[string]data.Stats{}
	units := map[string]data.Units{}
	for _, s := range j.sessions {
		stats[s.key] = s.data.Stats()
		units[s.key] = s.data.Recording().Units
	}
	logPath := filepath.Join(j.out, "log.jsonl")
	var history []train.Report
	if first > 0 {
		// Drop the lines an interrupted run wrote after its last checkpoint.
		var lines []string
		history, lines = readLog(logPath, first)
		if err := writeFileAtomic(logPath, []byte(strings.Join(lines, ""))); err != nil {
			return err
		}
	}
	// One bar for the training steps of each epoch and one for its validation, showing the
	// epoch's running loss and its learning rate.
	var bar *progress
	var phase string
	tr.OnProgress(func(p train.Progress) {
		name, unit := fmt.Sprintf("epoch %d", p.Epoch), "steps"
		if p.Validating {
			name, unit = fmt.Sprintf("validation %d", p.Epoch), "sessions"
		}
		if bar == nil || name != phase {
			if bar != nil {
				bar.Finish()
			}
			bar, phase = newProgress(j.io.Err, name, unit), name
		}
		if p.Validating {
			bar.Note("lr %.4g", p.LR)
		} else {
			bar.Note("loss %.4f, lr %.4g", p.Loss, p.LR)
		}
		bar.Update(p.Done, p.Total)
	})
	for rep, err := range tr.Run(ctx, first) {
		if bar != nil {
			bar.Finish()
		}
		if err != nil {
			if errors.Is(err, context.Canceled) {
				if rep.Epoch == 0 {
					return fmt.Errorf("interrupted during epoch 0: no epoch finished, so %s holds no checkpoint (start the run again): %w", j.out, err)
				}
				return fmt.Errorf("interrupted during epoch %d: the checkpoint of epoch %d in %s is intact: %w", rep.Epoch, rep.Epoch-1, j.out, err)
			}
			return err
		}
		history = append(history, rep)
		saved := savedModel{Config: j.cfg, Seed: j.cfg.Train.Seed, Epoch: rep.Epoch, BestCorr: j.best, Stats: stats, Units: units, Finetune: j.finetune}
		better := !math.IsNaN(rep.ValCorr) && rep.ValCorr > j.best
		if better || (math.IsNaN(rep.ValCorr) && rep.Epoch == j.cfg.Train.Epochs-1) {
			j.best = rep.ValCorr
			saved.BestCorr = j.best
			if err := saveModel(filepath.Join(j.out, "best"), j.net, nil, saved); err != nil {
				return err
			}
		}
		if err := saveModel(filepath.Join(j.out, "checkpoint"), j.net, tr.Optimizer(), saved); err != nil {
			return err
		}
		if err := appendLog(logPath, rep); err != nil {
			return err
		}
		if err := plots.TrainingCurve(filepath.Join(j.out, "curve.png"), history); err != nil {
			slog.Warn("training curve not drawn", "err", err)
		}
		fmt.Fprintf(j.io.Out, "epoch %3d  lr %.4g  train loss %.4f  val loss %.4f  val corr %.4f  %s\n",
			rep.Epoch, rep.LR, rep.TrainLoss, rep.ValLoss, rep.ValCorr, rep.Duration.Round(time.Millisecond))
	}
	fmt.Fprintf(j.io.Out, "model in %s (best validation correlation %.4f)\n", j.out, j.best)
	return nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// appendLog appends one JSON line to the epoch log.
func appendLog(path string, r train.Report) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(jsonReport(r))
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// jsonReport replaces NaN (which JSON cannot hold) by null.
func jsonReport(r train.Report) map[string]any {
	num := func(x float64) any {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return x
	}
	return map[string]any{"epoch": r.Epoch, "lr": r.LR, "train_loss": num(r.TrainLoss), "val_loss": num(r.ValLoss),
		"val_corr": num(r.ValCorr), "steps": r.Steps, "frames": r.Frames, "seconds": r.Duration.Seconds()}
}

// readLog reads the epochs before first from a run's log (for the curve after --resume),
// and their lines (with newlines); lines of later epochs, written by an interrupted run
// after its last checkpoint, are dropped.
func readLog(path string, first int) ([]train.Report, []string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil
	}
	var out []train.Report
	var lines []string
	for _, line := range strings.Split(string(b), "\n") {
		var m struct {
			Epoch     int      `json:"epoch"`
			LR        float64  `json:"lr"`
			TrainLoss *float64 `json:"train_loss"`
			ValLoss   *float64 `json:"val_loss"`
			ValCorr   *float64 `json:"val_corr"`
		}
		if json.Unmarshal([]byte(line), &m) != nil || m.Epoch >= first {
			continue
		}
		val := func(p *float64) float64 {
			if p == nil {
				return math.NaN()
			}
			return *p
		}
		out = append(out, train.Report{Epoch: m.Epoch, LR: m.LR, TrainLoss: val(m.TrainLoss), ValLoss: val(m.ValLoss), ValCorr: val(m.ValCorr)})
		lines = append(lines, line+"\n")
	}
	return out, lines
}
