package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/data/h5"
	"github.com/fmcore/fmcore/data/video"
	"github.com/fmcore/fmcore/internal/buildinfo"
	"github.com/fmcore/fmcore/internal/checkpoint"
	"github.com/fmcore/fmcore/internal/config"
	"github.com/fmcore/fmcore/internal/sim"
	"github.com/fmcore/fmcore/internal/train"
	"github.com/fmcore/fmcore/model"
)

// This file holds what train, finetune, predict and evaluate share: the dataset, the
// sessions and their loaders, and the model folder (checkpoint + statistics).

// defaultDataset returns the folder of the built-in dataset, simulating it (preset
// small) on first use.
func defaultDataset(ctx context.Context, ios IO) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the cache folder for the default dataset: %w (give --data DIR)", err)
	}
	dir := filepath.Join(base, "fmcore", "datasets", "small")
	if _, err := os.Stat(filepath.Join(dir, manifestName)); err == nil {
		return dir, nil
	}
	slog.Info("simulating the built-in dataset (first use; takes a few minutes)", "folder", dir)
	cfg, err := sim.PresetConfig(sim.PresetSmall)
	if err != nil {
		return "", err
	}
	if err := prepareOutDir(dir, true); err != nil {
		return "", err
	}
	bar := newProgress(ios.Err, "simulate", "trials")
	sum, err := sim.Run(ctx, cfg, &fileSink{dir: dir}, bar.Update)
	bar.Finish()
	if err != nil {
		return "", fmt.Errorf("simulate the default dataset: %w", err)
	}
	if err := writeJSONAtomic(filepath.Join(dir, manifestName), sum.Manifest); err != nil {
		return "", err
	}
	return dir, nil
}

// findMice lists the sessions of the selected mice in dir.
func findMice(dir, spec string) ([]data.Mouse, error) {
	set, err := data.ParseMice(spec)
	if err != nil {
		return nil, usageError{fmt.Errorf("--mice: %w", err)}
	}
	mice, err := data.FindSessions(dir, h5.ReadHeader)
	if err != nil {
		return nil, err
	}
	return data.SelectMice(mice, set)
}

// session is one recording opened for training, evaluation or prediction.
type session struct {
	key  string
	file *h5.File
	data *data.Session
}

// openSession opens a recording and prepares it (statistics from its training tier, or
// the given ones). maxMinutes > 0 keeps only that many minutes of training trials, in
// file order; domains, when not empty, keeps only their trials for loading.
func openSession(ctx context.Context, path string, stats *data.Stats, maxMinutes float64, domains ...data.Domain) (*session, error) {
	f, err := h5.Open(path)
	if err != nil {
		return nil, err
	}
	opts := data.DefaultPrepareOptions()
	opts.Stats = stats
	opts.MaxTrainMinutes = maxMinutes
	opts.Domains = domains
	s, err := data.Prepare(ctx, f, opts)
	if err != nil {
		f.Close()
		if stats != nil && errors.Is(err, data.ErrUnitCount) {
			return nil, fmt.Errorf("%s: session %s has another number of units than the model was trained with (%d): give the dataset the model was trained on", path, stats.Session, len(stats.ResponseScale))
		}
		return nil, err
	}
	return &session{key: s.ID().String(), file: f, data: s}, nil
}

// frameSource decodes (through the frame cache) at the model's stimulus size.
func frameSource(cfg model.Config, rateHz float64) (*video.Source, error) {
	dir, err := video.DefaultCacheDir()
	if err != nil {
		return nil, err
	}
	cache, err := video.NewCache(dir)
	if err != nil {
		return nil, err
	}
	return video.NewSource(cache, video.Params{Width: cfg.StimulusWidth, Height: cfg.StimulusHeight, RateHz: rateHz}, 16)
}

// loaders makes the training and validation loaders of a session.
func loaders(s *session, frames data.FrameSource, tc train.Config) (train.Session, error) {
	mk := func(tier data.Tier, seed uint64) (*data.Loader, error) {
		lc := data.DefaultLoaderConfig()
		lc.Tier, lc.Batch, lc.Window, lc.Seed = tier, tc.BatchSize, tc.Window, seed
		return data.NewLoader(s.data, frames, lc)
	}
	tr, err := mk(data.TierTrain, tc.Seed)
	if err != nil {
		return train.Session{}, fmt.Errorf("session %s: %w", s.key, err)
	}
	out := train.Session{Key: s.key, Train: tr}
	if s.data.Kept(data.TierValidation) > 0 {
		if out.Validation, err = mk(data.TierValidation, tc.Seed+1); err != nil && !errors.Is(err, data.ErrNoTrials) {
			return train.Session{}, fmt.Errorf("session %s: %w", s.key, err)
		}
	}
	return out, nil
}

// ---------------------------------------------------------------------------------------
// The model folder.

// Metadata keys of checkpoint files.
const (
	metaEpoch    = "epoch"     // last completed epoch
	metaBestCorr = "best_corr" // best validation correlation so far
	metaStats    = "stats"     // a session's standardisation statistics (JSON)
	metaUnits    = "units"     // a session's unit ids and areas (JSON)
	metaFinetune = "finetune"  // a fine-tuning run's settings (JSON finetuneInfo); absent for train
	momentumPre  = "momentum." // prefix of optimizer state tensors
)

// savedModel is what a model folder holds besides the weights.
type savedModel struct {
	Config   config.File
	Seed     uint64
	Epoch    int     // last completed epoch (−1: none)
	BestCorr float64 // best validation correlation
	Stats    map[string]data.Stats
	Units    map[string]data.Units
	Finetune *finetuneInfo // nil unless the run is a fine-tuning
}

// finetuneInfo is what `fmcore finetune --resume` needs to continue a fine-tuning run
// as it started.
type finetuneInfo struct {
	Mouse   int      `json:"mouse"`   // the new mouse
	Frozen  []string `json:"frozen"`  // frozen parameter prefixes; empty: from scratch
	Minutes float64  `json:"minutes"` // training minutes kept (0: all)
}

// saveModel writes the network (and the optimizer's momentum, when opt is set) as a
// checkpoint folder; every file is replaced atomically.
func saveModel(dir string, net *model.Network, opt *train.SgdClip, m savedModel) error {
	text, err := m.Config.Marshal()
	if err != nil {
		return err
	}
	var mom map[string][]float32
	if opt != nil {
		mom = opt.State()
	}
	// tensors lists the weights (and momentum) stored under key ("" for the core).
	tensors := func(key string) []checkpoint.Tensor {
		var ts []checkpoint.Tensor
		for _, sp := range net.Params(key) {
			q := model.ParamKey(key, sp.Name)
			ts = append(ts, checkpoint.Tensor{Name: sp.Name, Shape: sp.Shape, Data: net.Value(q)})
			if v, ok := mom[q]; ok {
				ts = append(ts, checkpoint.Tensor{Name: momentumPre + sp.Name, Shape: sp.Shape, Data: v})
			}
		}
		return ts
	}
	header := func() checkpoint.Header {
		return checkpoint.Header{FmcoreVersion: buildinfo.Read().String(), Config: string(text), Seed: m.Seed, Metadata: map[string]string{}}
	}
	core := checkpoint.File{Header: header(), Tensors: tensors("")}
	core.Header.Metadata[metaEpoch] = strconv.Itoa(m.Epoch)
	core.Header.Metadata[metaBestCorr] = strconv.FormatFloat(m.BestCorr, 'g', -1, 64)
	if m.Finetune != nil {
		b, _ := json.Marshal(m.Finetune)
		core.Header.Metadata[metaFinetune] = string(b)
	}
	sessions := map[string]checkpoint.File{}
	for _, key := range net.SessionKeys() {
		f := checkpoint.File{Header: header(), Tensors: tensors(key)}
		if st, ok := m.Stats[key]; ok {
			b, _ := json.Marshal(st)
			f.Header.Metadata[metaStats] = string(b)
		}
		if u, ok := m.Units[key]; ok {
			b, _ := json.Marshal(u)
			f.Header.Metadata[metaUnits] = string(b)
		}
		sessions[key] = f
	}
	return checkpoint.Save(dir, core, sessions)
}

// loadModel reads a checkpoint folder: the network with every session it holds (or only
// those in keys, when given), the optimizer state, and the metadata.
func loadModel(dir string, keys ...string) (*model.Network, map[string][]float32, savedModel, error) {
	core, err := checkpoint.LoadCore(dir)
	if err != nil {
		return nil, nil, savedModel{}, fmt.Errorf("load model %s: %w", dir, err)
	}
	cfg, err := config.Parse([]byte(core.Header.Config))
	if err != nil {
		return nil, nil, savedModel{}, fmt.Errorf("load model %s: its config: %w", dir, err)
	}
	m := savedModel{Config: cfg, Seed: core.Header.Seed, Epoch: -1, Stats: map[string]data.Stats{}, Units: map[string]data.Units{}}
	if e, err := strconv.Atoi(core.Header.Metadata[metaEpoch]); err == nil {
		m.Epoch = e
	}
	m.BestCorr, _ = strconv.ParseFloat(core.Header.Metadata[metaBestCorr], 64)
	if text, ok := core.Header.Metadata[metaFinetune]; ok {
		m.Finetune = &finetuneInfo{}
		if err := json.Unmarshal([]byte(text), m.Finetune); err != nil {
			return nil, nil, m, fmt.Errorf("load model %s: its fine-tuning settings: %w", dir, checkpoint.ErrCorrupt)
		}
	}
	if len(keys) == 0 {
		if keys, err = checkpoint.Sessions(dir); err != nil {
			return nil, nil, m, fmt.Errorf("load model %s: %w", dir, err)
		}
	}
	files := map[string]checkpoint.File{}
	var specs []model.SessionSpec
	for _, k := range keys {
		f, err := checkpoint.LoadSession(dir, k)
		if err != nil {
			return nil, nil, m, fmt.Errorf("load model %s: %w", dir, err)
		}
		if f.Header.Config != core.Header.Config {
			sc, err := config.Parse([]byte(f.Header.Config))
			if err != nil || !reflect.DeepEqual(sc.Model, cfg.Model) {
				return nil, nil, m, fmt.Errorf("load model %s: session %s was saved with another network than its core: %w (a file copied from another run? keep each run's files together)", dir, k, checkpoint.ErrMismatch)
			}
		}
		files[k] = f
		var u data.Units
		if err := json.Unmarshal([]byte(f.Header.Metadata[metaUnits]), &u); err != nil || u.Len() == 0 {
			return nil, nil, m, fmt.Errorf("load model %s: session %s has no unit table: %w", dir, k, checkpoint.ErrCorrupt)
		}
		m.Units[k] = u
		var st data.Stats
		if err := json.Unmarshal([]byte(f.Header.Metadata[metaStats]), &st); err == nil {
			m.Stats[k] = st
		}
		specs = append(specs, model.SessionSpec{Key: k, Units: u.Len()})
	}
	net, err := model.Build(cfg.Model, specs, m.Seed)
	if err != nil {
		return nil, nil, m, fmt.Errorf("load model %s: %w", dir, err)
	}
	mom := map[string][]float32{}
	load := func(key, name string, f checkpoint.File, want map[string][]int) error {
		var weights []checkpoint.Tensor
		for _, t := range f.Tensors {
			if n, ok := strings.CutPrefix(t.Name, momentumPre); ok {
				mom[model.ParamKey(key, n)] = t.Data
				continue
			}
			weights = append(weights, t)
		}
		if err := checkpoint.Match(weights, want); err != nil {
			return fmt.Errorf("load model %s: %s: %w", dir, name, err)
		}
		for _, t := range weights {
			if err := net.SetValue(model.ParamKey(key, t.Name), t.Data); err != nil {
				return err
			}
		}
		return nil
	}
	// want maps the names stored under key ("" for the core) to their shapes.
	want := func(key string) map[string][]int {
		out := map[string][]int{}
		for _, sp := range net.Params(key) {
			out[sp.Name] = sp.Shape
		}
		return out
	}
	if err := load("", checkpoint.CoreFile, core, want("")); err != nil {
		return nil, nil, m, err
	}
	for _, k := range keys {
		if err := load(k, "session "+k, files[k], want(k)); err != nil {
			return nil, nil, m, err
		}
	}
	return net, mom, m, nil
}

// mouseOf returns the mouse id of a session key "mouse-session".
func mouseOf(key string) string {
	m, _, _ := strings.Cut(key, "-")
	return m
}

// sessionKeysOf lists the keys of the sessions of mouse id in a model.
func sessionKeysOf(keys []string, mouse string) []string {
	var out []string
	for _, k := range keys {
		if mouseOf(k) == mouse {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// sessionsIn lists the session keys of a model folder.
func sessionsIn(dir string) ([]string, error) {
	keys, err := checkpoint.Sessions(dir)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w (give a run folder or a checkpoint folder)", dir, err)
	}
	return keys, nil
}
