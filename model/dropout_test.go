package model_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fmcore/fmcore/internal/config"
	"github.com/fmcore/fmcore/model"
)

// dropoutNet builds the tiny network with the given dropout rate in the feedforward core,
// the recurrent core and the modulation LSTM, with random readout features and modulation
// MLP (zero at initialisation) so that every site reaches the rates.
func dropoutNet(t *testing.T, rate float64) *model.Network {
	t.Helper()
	f, err := config.Load("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.Model
	cfg.Core.Feedforward.Dropout, cfg.Core.Recurrent.Dropout, cfg.Modulation.Dropout = rate, rate, rate
	net, err := model.Build(cfg, []model.SessionSpec{{Key: learnKey, Units: learnUnits}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sp := range net.SessionParams(learnKey) {
		if strings.HasPrefix(sp.Name, "readout.features.") || strings.HasPrefix(sp.Name, "modulation.mlp.weight.") {
			v := net.Value(model.ParamKey(learnKey, sp.Name))
			for i := range v {
				v[i] = float32(rng.NormFloat64())
			}
		}
	}
	return net
}

// TestDropoutSites checks the sites of a configuration and the masks DrawDropout gives them.
func TestDropoutSites(t *testing.T) {
	if sites := dropoutNet(t, 0).DropoutSites(); len(sites) != 0 {
		t.Fatalf("dropout 0 has sites %v, want none", sites)
	}
	sites := dropoutNet(t, 0.25).DropoutSites()
	// tiny.yaml: 3 blocks of 2 layers (4, 8, 8 channels), recurrent in and hidden 8,
	// modulation features and hidden 4.
	want := map[string]int{"core.feedforward.blocks.0.0": 4, "core.feedforward.blocks.2.1": 8,
		"core.recurrent.x": 8, "core.recurrent.h": 8, "modulation.lstm.x": 4, "modulation.lstm.h": 4}
	if len(sites) != 10 {
		t.Fatalf("%d sites, want 10 (6 feedforward, 2 recurrent, 2 modulation): %v", len(sites), sites)
	}
	widths := map[string]int{}
	for _, s := range sites {
		widths[s.Name] = s.Width
	}
	for name, w := range want {
		if widths[name] != w {
			t.Errorf("site %s has width %d, want %d", name, widths[name], w)
		}
	}
	const N = 2000
	frozen := func(name string) bool { return strings.HasPrefix(name, "core.") }
	masks := model.DrawDropout(nil, sites, N, frozen, rand.New(rand.NewPCG(1, 2)))
	var D, off int
	for _, s := range sites {
		D += s.Width
	}
	if len(masks) != N*D {
		t.Fatalf("DrawDropout gave %d mask values, want N·D = %d", len(masks), N*D)
	}
	for _, s := range sites {
		var zeros int
		for n := range N {
			for c := range s.Width {
				switch v := masks[n*D+off+c]; {
				case frozen(s.Name) && v != 1:
					t.Fatalf("frozen site %s has mask value %g, want 1", s.Name, v)
				case !frozen(s.Name) && v == 0:
					zeros++
				case !frozen(s.Name) && math.Abs(float64(v)-1/0.75) > 1e-6:
					t.Fatalf("site %s has mask value %g, want 0 or 1/(1−p) = %g", s.Name, v, 1/0.75)
				}
			}
		}
		if !frozen(s.Name) {
			// The share of zeros is binomial: N·width ≥ 8,000 draws give an SD of 0.005.
			if p := float64(zeros) / float64(N*s.Width); math.Abs(p-0.25) > 0.025 {
				t.Errorf("site %s dropped %.3f of its channels, want 0.25", s.Name, p)
			}
		}
		off += s.Width
	}
}

// TestDropoutMasks runs a training window with dropout: without masks it computes exactly
// what the network without dropout computes; masks change the rates of the sequences they
// drop channels in and of no other; a window without gradient (evaluation) applies none.
func TestDropoutMasks(t *testing.T) {
	const N, T, U, burnin = 2, 8, learnUnits, 2
	plain, drop := dropoutNet(t, 0), dropoutNet(t, 0.5)
	cfg := drop.Config
	b := randomInputs(rand.New(rand.NewPCG(8, 9)), cfg, N, T, U)
	for i := range b.Targets {
		b.Targets[i] = 1
	}
	run := func(net *model.Network, grad bool, masks []float32) []float32 {
		t.Helper()
		w, err := net.NewWindow(learnKey, N, T, burnin, grad)
		if err != nil {
			t.Fatal(err)
		}
		in := *b
		in.Dropout = masks
		_, lr, err := w.Run(0, &in, nil)
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), lr...)
	}
	diff := func(a, b []float32, n int) float64 { // largest difference in sequence n
		var d float64
		for i := n * T * U; i < (n+1)*T*U; i++ {
			d = max(d, math.Abs(float64(a[i]-b[i])))
		}
		return d
	}
	ref, none := run(plain, true, nil), run(drop, true, nil)
	if d := max(diff(none, ref, 0), diff(none, ref, 1)); d != 0 {
		t.Fatalf("training window with dropout but no masks differs from the network without dropout by %g", d)
	}
	sites := drop.DropoutSites()
	masks := model.DrawDropout(nil, sites, N, nil, rand.New(rand.NewPCG(3, 4)))
	D := len(masks) / N
	for i := D; i < 2*D; i++ { // sequence 1 keeps every channel
		masks[i] = 1
	}
	got := run(drop, true, masks)
	if d := diff(got, ref, 1); d != 0 {
		t.Errorf("sequence 1, all masks 1, changed by %g", d)
	}
	if d := diff(got, ref, 0); !(d > 1e-3) {
		t.Errorf("sequence 0, half its channels dropped, changed by only %g", d)
	}
	if d := diff(run(drop, false, masks), ref, 0); d != 0 {
		t.Errorf("a window without gradient applied the masks: sequence 0 changed by %g", d)
	}
}
