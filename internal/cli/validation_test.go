package cli

import (
	"math/rand/v2"
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
	ds, _ := tinyDataset(t)
	cfg, err := config.Load("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Train.Optimizer.LR, cfg.Train.Schedule.LR = 1e-30, 1e-30 // p − 1e-30·d rounds to p
	cfg.Train.ValidationBatches = 2
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
	tr, err := train.New(net, []train.Session{ts}, cfg.Train)
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
