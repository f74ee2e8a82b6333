package model_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fmcore/fmcore/internal/config"
	"github.com/fmcore/fmcore/model"
)

// TestSessionsShareBuffers checks that the training windows of several sessions share one
// set of op output buffers (memory does not grow with the number of sessions) and that the
// sharing changes no result: session 1-1's loss and gradients are the same before and after
// the other sessions' windows (and an evaluation window and a stepper) ran, and the same as
// from a network holding session 1-1 alone.
// Every input is random and every zero-initialised parameter drawn, so that a stale value
// left in a shared buffer would show.
func TestSessionsShareBuffers(t *testing.T) {
	f, err := config.Load("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.Model
	const U, N, T, burnin = 5, 2, 12, 2
	keys := []string{"1-1", "2-1", "3-1"}
	var specs []model.SessionSpec
	for _, k := range keys {
		specs = append(specs, model.SessionSpec{Key: k, Units: U})
	}
	rng := rand.New(rand.NewPCG(4, 4))
	in := randomInputs(rng, cfg, N, T, U)
	for i := range in.Targets {
		in.Targets[i] = float32(rng.IntN(3))
	}
	// run builds a network of the given sessions, randomises session 1-1's readout, runs
	// the training window of every session in order and then 1-1's again, and returns the
	// buffer memory after the first window and after all, and 1-1's loss and gradients from
	// its first and last run.
	type result struct {
		loss  float64
		grads map[string][]float32
	}
	run := func(sessions []model.SessionSpec) (first, all int64, res []result) {
		net, err := model.Build(cfg, sessions, 9)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sessions {
			for _, sp := range net.SessionParams(s.Key) {
				for i := range net.Value(model.ParamKey(s.Key, sp.Name)) {
					net.Value(model.ParamKey(s.Key, sp.Name))[i] += float32(0.1 * rand.New(rand.NewPCG(uint64(i), 1)).NormFloat64())
				}
			}
		}
		var wins []*model.Window
		for _, s := range sessions {
			w, err := net.NewWindow(s.Key, N, T, burnin, true)
			if err != nil {
				t.Fatal(err)
			}
			wins = append(wins, w)
		}
		step := func(w *model.Window, key string) result {
			grads := map[string][]float32{}
			for _, name := range append(net.Params(key), net.CoreParams()...) {
				qk := model.ParamKey(key, name.Name)
				grads[qk] = make([]float32, name.Size())
			}
			loss, _, err := w.Run(1, in, grads)
			if err != nil {
				t.Fatal(err)
			}
			return result{loss, grads}
		}
		res = append(res, step(wins[0], sessions[0].Key))
		first = net.BufferBytes()
		for i, w := range wins[1:] {
			step(w, sessions[i+1].Key)
		}
		all = net.BufferBytes()
		// Graphs of other kinds write other values into the buffers they share by slot and
		// size: an evaluation window and a stepper of the last session.
		last := sessions[len(sessions)-1].Key
		ev, err := net.NewWindow(last, N, T, burnin, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := ev.Evaluate(in); err != nil {
			t.Fatal(err)
		}
		st, err := net.NewStepper(last, N)
		if err != nil {
			t.Fatal(err)
		}
		H, W := cfg.StimulusHeight, cfg.StimulusWidth
		for f := range 3 {
			frames := make([]uint8, N*H*W)
			for n := range N {
				copy(frames[n*H*W:(n+1)*H*W], in.Frames[(n*T+f)*H*W:(n*T+f+1)*H*W])
			}
			if _, err := st.Step(frames, in.Eye[:2*N], in.Behavior[:2*N]); err != nil {
				t.Fatal(err)
			}
		}
		res = append(res, step(wins[0], sessions[0].Key))
		return first, all, res
	}
	first, all, shared := run(specs)
	if first == 0 || all != first {
		t.Errorf("op buffers: %d bytes after one window, %d after %d windows of the same shape: want equal and non-zero", first, all, len(keys))
	}
	_, _, alone := run(specs[:1])
	for i, r := range []result{shared[0], shared[1], alone[1]} {
		if r.loss != alone[0].loss {
			t.Errorf("result %d: loss %v, want %v", i, r.loss, alone[0].loss)
		}
		for k, g := range alone[0].grads {
			if !slices.Equal(r.grads[k], g) {
				t.Errorf("result %d: gradient of %s differs", i, k)
			}
		}
	}
}
