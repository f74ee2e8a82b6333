package train

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/model"
	"github.com/fmcore/fmcore/model/nn"
)

// Config is the `train:` section of a config file: the recipe of MODEL.md 7.
type Config struct {
	Epochs            int           `yaml:"epochs"`             // epochs to train (one cosine cycle by default)
	BatchesPerEpoch   int           `yaml:"batches_per_epoch"`  // training steps per epoch (training_size)
	ValidationBatches int           `yaml:"validation_batches"` // validation batches per session, the same every epoch
	BatchSize         int           `yaml:"batch_size"`         // windows per session and step (N)
	Window            int           `yaml:"window"`             // frames per window (sample_size, T)
	Burnin            int           `yaml:"burnin"`             // frames excluded from the loss
	Optimizer         SgdClipConfig `yaml:"optimizer"`
	Schedule          CosineLR      `yaml:"schedule"`
	Seed              uint64        `yaml:"seed"`
	// Positions is where a new session's readout positions start: PositionsCenter (the
	// released initialisation, every unit at the centre of the core's map) or PositionsRFMap
	// (at each unit's receptive-field centre estimated from its training trials).
	Positions string `yaml:"positions"`
	// SessionsPerStep is how many sessions, drawn anew each step without replacement, give
	// a step its gradient: 0 (or at least the number of sessions) for all of them, as
	// released (MODEL.md 8.1). Fewer make a step proportionally cheaper, so the core takes
	// more steps in the same time; each session's own modules are updated on the steps
	// that draw it.
	SessionsPerStep int `yaml:"sessions_per_step"`
}

// The values of Config.Positions.
const (
	PositionsCenter = "center"
	PositionsRFMap  = "rf_map"
)

// DefaultConfig returns the released recipe (MODEL.md 7.7) with one cycle of 100 epochs.
func DefaultConfig() Config {
	return Config{Epochs: 100, BatchesPerEpoch: 500, ValidationBatches: 20, BatchSize: 4, Window: 100, Burnin: 10,
		Optimizer: DefaultSgdClipConfig(), Schedule: DefaultCosineLR(), Positions: PositionsCenter}
}

// Validate reports the first invalid field, named by its config key.
func (c Config) Validate() error {
	switch {
	case c.Epochs < 1:
		return fmt.Errorf("train.epochs %d, want at least 1", c.Epochs)
	case c.BatchesPerEpoch < 1:
		return fmt.Errorf("train.batches_per_epoch %d, want at least 1", c.BatchesPerEpoch)
	case c.ValidationBatches < 0:
		return fmt.Errorf("train.validation_batches %d, want 0 or more", c.ValidationBatches)
	case c.BatchSize < 1:
		return fmt.Errorf("train.batch_size %d, want at least 1", c.BatchSize)
	case c.Window < 2:
		return fmt.Errorf("train.window %d, want at least 2 frames", c.Window)
	case c.Burnin < 0 || c.Burnin >= c.Window:
		return fmt.Errorf("train.burnin %d, want 0 to window−1 (%d)", c.Burnin, c.Window-1)
	case c.SessionsPerStep < 0:
		return fmt.Errorf("train.sessions_per_step %d, want 0 (every session) or more", c.SessionsPerStep)
	case c.Positions != PositionsCenter && c.Positions != PositionsRFMap:
		return fmt.Errorf("train.positions %q, want %q or %q", c.Positions, PositionsCenter, PositionsRFMap)
	}
	if err := c.Optimizer.Validate(); err != nil {
		return fmt.Errorf("train.optimizer: %w", err)
	}
	if err := c.Schedule.Validate(); err != nil {
		return fmt.Errorf("train.schedule: %w", err)
	}
	if c.Optimizer.LR != c.Schedule.LR {
		return fmt.Errorf("train.optimizer.lr %g and train.schedule.lr %g differ: the schedule's rate is used, set both to it", c.Optimizer.LR, c.Schedule.LR)
	}
	return nil
}

// Session is one recording session's data: training and (optional) validation loaders.
type Session struct {
	Key        string       // the network's session key (data.SessionID.String())
	Train      *data.Loader // training tier, windows of Config.Window frames
	Validation *data.Loader // validation tier, or nil
}

// Report is what one epoch produced.
type Report struct {
	Epoch     int           `json:"epoch"`
	LR        float64       `json:"lr"`
	TrainLoss float64       `json:"train_loss"`
	ValLoss   float64       `json:"val_loss"` // NaN without validation data
	ValCorr   float64       `json:"val_corr"` // mean over units of the pooled correlation; NaN without validation data
	Steps     int           `json:"steps"`
	Frames    int           `json:"frames"` // training frames processed (windows × frames)
	Duration  time.Duration `json:"duration_ns"`
}

// Trainer trains a network on several sessions: one shared core, each session's own
// modules (MODEL.md 8.1, in its single-process form).
type Trainer struct {
	net      *model.Network
	cfg      Config
	sessions []Session
	train    map[string]*model.Window
	val      map[string]*model.Window
	opt      *SgdClip
	params   []*Param
	byName   map[string]*Param
	grads    map[string][]float32
	batches  map[string]*model.Batch // per session, reused every step
	order    []int                   // session indices, shuffled when a step draws some of them
	dropout  []model.DropoutSite     // the network's dropout sites (none without dropout)
	frozen   func(name string) bool
	progress func(Progress)
}

// Progress is where a running epoch stands, reported after every training step and after
// each session's validation.
type Progress struct {
	Epoch      int
	Validating bool    // false: training steps; true: validation batches of each session
	Done       int     // steps done, or sessions validated
	Total      int     // steps per epoch, or sessions with validation data
	Loss       float64 // mean training loss of the epoch's steps so far (training only)
	LR         float64 // the epoch's learning rate
}

// New prepares training: it compiles one training and one validation window per
// session and sets up the optimizer over every parameter except those whose name starts
// with one of the frozen prefixes (for example "core." and "modulation.lstm." when
// fine-tuning a new mouse on the foundation core, MODEL.md 8.2).
func New(net *model.Network, sessions []Session, cfg Config, frozen ...string) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(sessions) == 0 {
		return nil, errors.New("train: no sessions")
	}
	opt, err := NewSgdClip(cfg.Optimizer)
	if err != nil {
		return nil, err
	}
	t := &Trainer{net: net, cfg: cfg, sessions: sessions, train: map[string]*model.Window{}, val: map[string]*model.Window{},
		opt: opt, byName: map[string]*Param{}, grads: map[string][]float32{}, batches: map[string]*model.Batch{},
		dropout: net.DropoutSites(), order: make([]int, len(sessions))}
	t.frozen = func(name string) bool {
		for _, p := range frozen {
			if strings.HasPrefix(name, p) {
				return true
			}
		}
		return false
	}
	for _, s := range sessions {
		if _, ok := net.Sessions[s.Key]; !ok {
			return nil, fmt.Errorf("train: the network has no session %s", s.Key)
		}
		if t.train[s.Key], err = net.NewWindow(s.Key, cfg.BatchSize, cfg.Window, cfg.Burnin, true); err != nil {
			return nil, err
		}
		if s.Validation != nil && cfg.ValidationBatches > 0 {
			if t.val[s.Key], err = net.NewWindow(s.Key, cfg.BatchSize, cfg.Window, cfg.Burnin, false); err != nil {
				return nil, err
			}
		}
		for _, sp := range net.SessionParams(s.Key) {
			t.addParam(model.ParamKey(s.Key, sp.Name), sp)
		}
	}
	for _, sp := range net.CoreParams() {
		t.addParam(sp.Name, sp)
	}
	sort.Slice(t.params, func(i, j int) bool { return t.params[i].Name < t.params[j].Name })
	return t, nil
}

// addParam registers the parameter with qualified name key (model.ParamKey).
func (t *Trainer) addParam(key string, sp nn.ParamSpec) {
	p := &Param{Name: key, Shape: sp.Shape, Value: t.net.Value(key), Grad: make([]float32, sp.Size()),
		Scale: sp.Scale, Decay: sp.Decay, NormDims: sp.NormDims}
	t.params = append(t.params, p)
	t.byName[key] = p
	t.grads[key] = p.Grad
}

// OnProgress sets a function called after every training step and after each session's
// validation (for progress bars).
func (t *Trainer) OnProgress(f func(Progress)) { t.progress = f }

// Optimizer returns the optimizer (its momentum state is saved for --resume).
func (t *Trainer) Optimizer() *SgdClip { return t.opt }

// Run trains epochs first, first+1, … up to Config.Epochs−1 and yields one Report per
// epoch. It stops at the first error (a non-finite loss names the epoch and step) or
// when ctx is cancelled; the caller decides what to save.
func (t *Trainer) Run(ctx context.Context, first int) iter.Seq2[Report, error] {
	return func(yield func(Report, error) bool) {
		for epoch := first; epoch < t.cfg.Epochs; epoch++ {
			r, err := t.epoch(ctx, epoch)
			if !yield(r, err) || err != nil {
				return
			}
		}
	}
}

// epoch runs one epoch: BatchesPerEpoch steps, then validation.
func (t *Trainer) epoch(ctx context.Context, epoch int) (Report, error) {
	start := time.Now()
	lr := t.cfg.Schedule.Rate(epoch)
	r := Report{Epoch: epoch, LR: lr, ValLoss: math.NaN(), ValCorr: math.NaN()}
	rng := rand.New(rand.NewPCG(data.EpochSeed(t.cfg.Seed, epoch), 0x5eed))
	next := make([]func() (*data.Batch, error, bool), len(t.sessions))
	for i, s := range t.sessions {
		n, stop := iter.Pull2(s.Train.Batches(ctx, epoch, t.cfg.BatchesPerEpoch))
		defer stop()
		next[i] = n
	}
	for i := range t.order {
		t.order[i] = i // each epoch's draws depend on its seed alone, as --resume needs
	}
	S := t.net.Config.Streams
	var lossSum float64
	for step := range t.cfg.BatchesPerEpoch {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		drawn := make([]int, S)
		var stepLoss float64
		run := t.stepSessions(rng)
		for _, i := range run {
			s := t.sessions[i]
			b, err, ok := next[i]()
			if !ok {
				return r, fmt.Errorf("train: epoch %d step %d: session %s ran out of training batches", epoch, step, s.Key)
			}
			if err != nil {
				return r, fmt.Errorf("train: epoch %d step %d: session %s: %w", epoch, step, s.Key, err)
			}
			stream := rng.IntN(S)
			drawn[stream]++
			mb := t.modelBatch(b, s.Key, rng)
			loss, _, err := t.train[s.Key].Run(stream, mb, t.grads)
			if err != nil {
				return r, fmt.Errorf("train: epoch %d step %d: session %s: %w", epoch, step, s.Key, err)
			}
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return r, fmt.Errorf("train: epoch %d step %d: session %s: loss is %v", epoch, step, s.Key, loss)
			}
			stepLoss += loss / float64(len(run))
			t.markSession(s.Key, stream)
		}
		t.markCore(drawn)
		if err := t.opt.Step(t.params, lr); err != nil {
			return r, fmt.Errorf("train: epoch %d step %d: %w", epoch, step, err)
		}
		lossSum += stepLoss
		r.Steps++
		r.Frames += len(run) * t.cfg.BatchSize * t.cfg.Window
		if t.progress != nil {
			t.progress(Progress{Epoch: epoch, Done: step + 1, Total: t.cfg.BatchesPerEpoch, Loss: lossSum / float64(r.Steps), LR: lr})
		}
	}
	r.TrainLoss = lossSum / float64(r.Steps)
	if len(t.val) > 0 {
		var err error
		if r.ValLoss, r.ValCorr, err = t.validate(ctx, epoch); err != nil {
			return r, err
		}
	}
	r.Duration = time.Since(start)
	return r, nil
}

// stepSessions returns the indices of the sessions that train this step: all of them in
// order, or Config.SessionsPerStep of them drawn from rng without replacement (a partial
// Fisher–Yates shuffle of t.order).
func (t *Trainer) stepSessions(rng *rand.Rand) []int {
	k := t.cfg.SessionsPerStep
	if k == 0 || k >= len(t.order) {
		return t.order
	}
	for i := range k {
		j := i + rng.IntN(len(t.order)-i)
		t.order[i], t.order[j] = t.order[j], t.order[i]
	}
	return t.order[:k]
}

// markSession flags the gradients one session's window produced with stream s: its
// shared perspective and readout positions, and its stream-s modulation and readout
// features (frozen parameters excepted).
func (t *Trainer) markSession(key string, s int) {
	for _, sp := range t.net.SessionParams(key) {
		if sp.Stream < 0 || sp.Stream == s {
			if !t.frozen(sp.Name) {
				t.byName[model.ParamKey(key, sp.Name)].HasGrad = true
			}
		}
	}
}

// markCore averages each stream's core gradient over the sessions that drew the stream
// and flags it (MODEL.md 8.1); streams no session drew get no update.
func (t *Trainer) markCore(drawn []int) {
	for _, sp := range t.net.CoreParams() {
		p := t.byName[sp.Name]
		n := drawn[sp.Stream]
		if n == 0 || t.frozen(sp.Name) {
			clear(p.Grad)
			continue
		}
		if n > 1 {
			inv := 1 / float32(n)
			for i := range p.Grad {
				p.Grad[i] *= inv
			}
		}
		p.HasGrad = true
	}
	for _, p := range t.params {
		if !p.HasGrad {
			clear(p.Grad) // frozen or not drawn: drop what the window accumulated
		}
	}
}

// modelBatch wraps a data batch for the network in the session's reused model.Batch,
// drawing the per-sequence training noise (monitor jitter, readout-position samples and
// dropout masks, MODEL.md 1.2–1.3) from rng, or setting it to zero for evaluation (rng nil).
func (t *Trainer) modelBatch(b *data.Batch, key string, rng *rand.Rand) *model.Batch {
	mb := t.batches[key]
	if mb == nil {
		mb = &model.Batch{}
		t.batches[key] = mb
	}
	U := t.net.Sessions[key].Units
	mb.Frames, mb.Eye, mb.Behavior, mb.Targets = b.Frames, b.Eye, b.Behavior, b.Targets
	mb.Jitter = grow(mb.Jitter, b.N*6)
	mb.Eps = grow(mb.Eps, b.N*U*2)
	for _, v := range [][]float32{mb.Jitter, mb.Eps} {
		for i := range v {
			v[i] = 0
			if rng != nil {
				v[i] = float32(rng.NormFloat64())
			}
		}
	}
	var masks []float32
	if rng != nil && len(t.dropout) > 0 {
		// Frozen modules run in evaluation mode: no dropout there (MODEL.md 8.2).
		masks = model.DrawDropout(mb.Dropout, t.dropout, b.N, t.frozen, rng)
	}
	mb.Dropout = masks
	return mb
}

// grow returns buf with length n, reusing its storage.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// validate evaluates the ensemble on the validation windows of every session: the
// Poisson loss and the mean over units of the correlation between predicted and
// recorded responses, pooled over the frames after burn-in. The windows are the same
// every epoch (those the loader draws for epoch 0), so epochs are compared on the same
// data and the best model is chosen by what changed in the model; the reference draws
// new windows each epoch (MODEL.md 7.6), which adds their sampling noise to every
// comparison.
func (t *Trainer) validate(ctx context.Context, epoch int) (loss, corr float64, err error) {
	var lossSum, corrSum float64
	var nLoss, nCorr, done int
	for _, s := range t.sessions {
		w := t.val[s.Key]
		if w == nil {
			continue
		}
		U := t.net.Sessions[s.Key].Units
		acc := newCorrAcc(U)
		for b, err := range s.Validation.Batches(ctx, 0, t.cfg.ValidationBatches) {
			if err != nil {
				return 0, 0, fmt.Errorf("train: epoch %d validation, session %s: %w", epoch, s.Key, err)
			}
			rates, l, err := w.Evaluate(t.modelBatch(b, s.Key, nil))
			if err != nil {
				return 0, 0, fmt.Errorf("train: epoch %d validation, session %s: %w", epoch, s.Key, err)
			}
			lossSum += l
			nLoss++
			acc.add(rates, b.Targets, b.N, b.T, t.cfg.Burnin)
		}
		if c := acc.mean(); !math.IsNaN(c) {
			corrSum += c
			nCorr++
		}
		done++
		if t.progress != nil {
			t.progress(Progress{Epoch: epoch, Validating: true, Done: done, Total: len(t.val), LR: t.cfg.Schedule.Rate(epoch)})
		}
	}
	loss, corr = math.NaN(), math.NaN()
	if nLoss > 0 {
		loss = lossSum / float64(nLoss)
	}
	if nCorr > 0 {
		corr = corrSum / float64(nCorr)
	}
	return loss, corr, nil
}

// corrAcc accumulates per-unit sums for Pearson correlations over pooled frames.
type corrAcc struct {
	u                        int
	n, sx, sy, sxx, syy, sxy []float64
}

func newCorrAcc(u int) *corrAcc {
	return &corrAcc{u: u, n: make([]float64, u), sx: make([]float64, u), sy: make([]float64, u),
		sxx: make([]float64, u), syy: make([]float64, u), sxy: make([]float64, u)}
}

// add pools frames [burnin, T) of predictions p and responses y [N, T, U]; NaN responses
// are skipped.
func (a *corrAcc) add(p, y []float32, N, T, burnin int) {
	for n := range N {
		for f := burnin; f < T; f++ {
			row := (n*T + f) * a.u
			for u := range a.u {
				yv := float64(y[row+u])
				if math.IsNaN(yv) {
					continue
				}
				pv := float64(p[row+u])
				a.n[u]++
				a.sx[u] += pv
				a.sy[u] += yv
				a.sxx[u] += pv * pv
				a.syy[u] += yv * yv
				a.sxy[u] += pv * yv
			}
		}
	}
}

// mean returns the mean over units of the correlation (units with no variance skipped).
func (a *corrAcc) mean() float64 {
	var sum float64
	var k int
	for u := range a.u {
		n := a.n[u]
		if n < 2 {
			continue
		}
		cov := a.sxy[u]/n - a.sx[u]*a.sy[u]/(n*n)
		vx := a.sxx[u]/n - a.sx[u]*a.sx[u]/(n*n)
		vy := a.syy[u]/n - a.sy[u]*a.sy[u]/(n*n)
		if vx <= 0 || vy <= 0 {
			continue
		}
		sum += cov / math.Sqrt(vx*vy)
		k++
	}
	if k == 0 {
		return math.NaN()
	}
	return sum / float64(k)
}
