package cli

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/fmcore/fmcore/internal/config"
	"github.com/fmcore/fmcore/internal/train"
	"github.com/fmcore/fmcore/model"
)

// TestValidationSameEveryEpoch: the trainer validates every epoch on the same windows, so
// a model that did not change scores the same in two epochs. The tiny network, with
// random readout features (at initialisation every rate is 1 and nothing could differ),
// trains two epochs of a simulated mouse at a learning rate too small to move any weight.
// Drawing new windows each epoch, as the reference does, fails it.
func TestValidationSameEveryEpoch(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the tiny network on a simulated mouse")
	}
	cfg, err := config.Load("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Train.Optimizer.LR, cfg.Train.Schedule.LR = 1e-30, 1e-30 // p − 1e-30·d rounds to p
	cfg.Train.ValidationBatches = 2
	ds, _ := tinyDataset(t)
	reps := tinyRun(t, ds, cfg)
	if len(reps) != 2 {
		t.Fatalf("%d epochs, want 2", len(reps))
	}
	a, b := reps[0], reps[1]
	if !(a.ValCorr == a.ValCorr) || a.ValLoss == 1 {
		t.Fatalf("epoch 0 validates to loss %v, correlation %v: the model is constant, the test would prove nothing", a.ValLoss, a.ValCorr)
	}
	if a.ValLoss != b.ValLoss || a.ValCorr != b.ValCorr {
		t.Errorf("validation of the same model: epoch 0 loss %v corr %v, epoch 1 loss %v corr %v; want equal", a.ValLoss, a.ValCorr, b.ValLoss, b.ValCorr)
	}
}

// tinyRun trains the network of cfg on mouse 1 of dataset ds, with random readout
// features (at initialisation every rate is 1) and the parameters under the frozen
// prefixes left untouched, and returns the epochs' reports.
func tinyRun(t *testing.T, ds string, cfg config.File, frozen ...string) []train.Report {
	t.Helper()
	mice, err := findMice(ds, "1")
	if err != nil {
		t.Fatal(err)
	}
	s, err := openSession(t.Context(), mice[0].Sessions[0].Path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.file.Close()
	frames, err := frameSource(cfg.Model, s.data.Recording().RateHz)
	if err != nil {
		t.Fatal(err)
	}
	defer frames.Close()
	ts, err := loaders(s, frames, cfg.Train)
	if err != nil {
		t.Fatal(err)
	}
	net, err := model.Build(cfg.Model, []model.SessionSpec{{Key: s.key, Units: s.data.Recording().Units.Len()}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sp := range net.SessionParams(s.key) {
		if strings.HasPrefix(sp.Name, "readout.features.") {
			w := net.Value(model.ParamKey(s.key, sp.Name))
			for i := range w {
				w[i] = float32(0.5 * rng.NormFloat64())
			}
		}
	}
	tr, err := train.New(net, []train.Session{ts}, cfg.Train, frozen...)
	if err != nil {
		t.Fatal(err)
	}
	var reps []train.Report
	for r, err := range tr.Run(t.Context(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, r)
	}
	return reps
}

// TestDropoutOffInFrozenModules: the trainer applies dropout in the modules it trains and
// none in frozen ones, which run in evaluation mode (MODEL.md 8.2). With the core and the
// modulation LSTM frozen, as a fine-tuning freezes them, dropout there changes nothing:
// the epochs report exactly the numbers of the network without it. Trained, the same
// dropout changes them.
func TestDropoutOffInFrozenModules(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the tiny network on a simulated mouse")
	}
	ds, _ := tinyDataset(t)
	plain, err := config.Load("tiny")
	if err != nil {
		t.Fatal(err)
	}
	drop := plain
	drop.Model.Core.Feedforward.Dropout, drop.Model.Core.Recurrent.Dropout, drop.Model.Modulation.Dropout = 0.3, 0.3, 0.3
	losses := func(r []train.Report) [][2]float64 { // training and validation loss per epoch
		var l [][2]float64
		for _, e := range r {
			l = append(l, [2]float64{e.TrainLoss, e.ValLoss})
		}
		return l
	}
	frozen := []string{"core.", "modulation.lstm."}
	if a, b := losses(tinyRun(t, ds, plain, frozen...)), losses(tinyRun(t, ds, drop, frozen...)); !slices.Equal(a, b) {
		t.Errorf("core and modulation LSTM frozen: dropout in them changed the training losses (%v against %v)", b, a)
	}
	if a, b := losses(tinyRun(t, ds, plain)), losses(tinyRun(t, ds, drop)); slices.Equal(a, b) {
		t.Errorf("nothing frozen: dropout 0.3 left every epoch's losses unchanged (%v)", a)
	}
}
