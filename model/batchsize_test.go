package model_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fmcore/fmcore/internal/config"
	"github.com/fmcore/fmcore/model"
)

// TestAnyBatchSize: the small network runs with batch sizes other than 4, 8 and 16, and a
// sequence's log-rates do not depend on the batch it is in. gorgonia merged constants by
// their printed value, which elides the middle of large tensors, so the modulation LSTM's
// zero initial state [N, 16] and the zero [16, 16] block of the recurrent InterGroup weight
// became one node for N = 15, 17, 24, 32 …, and the run failed ("concat: input 0 has shape
// (24, 16), built for (16, 16)"); nn.Builder.Fixed now names constants by shape and values.
func TestAnyBatchSize(t *testing.T) {
	f, err := config.Load("small")
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.Model
	const T, burnin, U, key = 12, 2, 5, "1-1"
	net, err := model.Build(cfg, []model.SessionSpec{{Key: key, Units: U}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sp := range net.SessionParams(key) {
		if strings.HasPrefix(sp.Name, "readout.features.") { // non-constant rates
			for i, v := 0, net.Value(model.ParamKey(key, sp.Name)); i < len(v); i++ {
				v[i] = float32(rng.NormFloat64())
			}
		}
	}
	big := randomInputs(rng, cfg, 24, T, U)
	logRates := func(N int) []float32 {
		w, err := net.NewWindow(key, N, T, burnin, false)
		if err != nil {
			t.Fatal(err)
		}
		HW := cfg.StimulusHeight * cfg.StimulusWidth
		b := &model.Batch{Frames: big.Frames[:N*T*HW], Eye: big.Eye[:N*T*2], Behavior: big.Behavior[:N*T*2],
			Jitter: big.Jitter[:N*6], Eps: big.Eps[:N*U*2], Targets: big.Targets[:N*T*U]}
		_, lr, err := w.Run(0, b, nil)
		if err != nil {
			t.Fatalf("batch of %d: %v", N, err)
		}
		return append([]float32(nil), lr[:T*U]...) // sequence 0
	}
	ref := logRates(4)
	for _, N := range []int{15, 24} {
		got := logRates(N)
		for i := range ref {
			// float32 sums in a different order (batched matrix products): 1e-4 absolute
			// on log-rates of order 1.
			if math.Abs(float64(got[i]-ref[i])) > 1e-4 {
				t.Fatalf("batch of %d: log-rate %d of sequence 0 is %v, %v in a batch of 4", N, i, got[i], ref[i])
			}
		}
	}
}
