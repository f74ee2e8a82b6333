package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fmcore/fmcore/model/core"
	"github.com/fmcore/fmcore/model/modeltest"
	"github.com/fmcore/fmcore/model/modulation"
	"github.com/fmcore/fmcore/model/perspective"
	"github.com/fmcore/fmcore/model/readout"
)

// tinyConfig is configs/tiny.yaml, the network of the PyTorch fixtures.
func tinyConfig() Config {
	c := Config{Streams: 2, StimulusHeight: 18, StimulusWidth: 32,
		Perspective: perspective.Default(), Modulation: modulation.Default(), Core: core.Default(), Readout: readout.Default()}
	c.Perspective.RetinaHeight, c.Perspective.RetinaWidth = 16, 24
	c.Modulation.Features, c.Modulation.Hidden = 4, 4
	f := &c.Core.Feedforward
	f.Channels, f.Groups, f.OutChannels = []int{4, 8, 8}, []int{1, 2, 2}, 8
	r := &c.Core.Recurrent
	r.In, r.Hidden, r.OutChannels, r.Common, r.Groups = 8, 8, 8, 16, 2
	return c
}

const tinyUnits = 5

// goldenNetwork builds the tiny network with the fixture's parameter values.
func goldenNetwork(t *testing.T, g *modeltest.Golden) *Network {
	t.Helper()
	n, err := Build(tinyConfig(), []SessionSpec{{Key: "1-1", Units: tinyUnits}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range g.Names("params") {
		if err := n.SetValue(ParamKey("1-1", name), g.F32(t, "params", name)); err != nil {
			t.Fatalf("fixture parameter: %v", err)
		}
	}
	return n
}

// goldenBatch turns the fixture's time-major inputs into a Batch.
func goldenBatch(t *testing.T, g *modeltest.Golden, train bool) (*Batch, int, int) {
	t.Helper()
	sh := g.Shape(t, "inputs", "stimulus") // [T, N, H, W]
	T, N := sh[0], sh[1]
	b := &Batch{
		Frames:   modeltest.TimeMajorToBatch(g.U8(t, "inputs", "stimulus"), T, N),
		Eye:      modeltest.TimeMajorToBatch(g.F32(t, "inputs", "perspective"), T, N),
		Behavior: modeltest.TimeMajorToBatch(g.F32(t, "inputs", "modulation"), T, N),
		Jitter:   make([]float32, N*6),
		Eps:      make([]float32, N*tinyUnits*2),
		Targets:  make([]float32, N*T*tinyUnits),
	}
	if g.Has("inputs", "targets") {
		b.Targets = modeltest.TimeMajorToBatch(g.F32(t, "inputs", "targets"), T, N)
	}
	if train {
		c, a := g.F32(t, "inputs", "center_noise"), g.F32(t, "inputs", "angle_noise")
		for n := range N {
			copy(b.Jitter[n*6:n*6+3], c[n*3:n*3+3])
			copy(b.Jitter[n*6+3:n*6+6], a[n*3:n*3+3])
		}
		b.Eps = g.F32(t, "inputs", "eps")
	}
	return b, N, T
}

// batchMajor converts a fixture output [T, N, U] to the network's [N, T, U].
func batchMajor(v []float64, T, N int) []float64 { return modeltest.TimeMajorToBatch(v, T, N) }

// TestParityTrainingWindow compares the whole tiny network, training path, stream 1,
// with the PyTorch reference: log-rates, loss and every parameter gradient. Tolerance
// 1e-4 relative (the float32 parity target) with an absolute floor of 1e-6 times
// the largest magnitude, for entries that cancel to near zero.
func TestParityTrainingWindow(t *testing.T) {
	g := modeltest.LoadGolden(t, "testdata/golden/network_train_s1")
	n := goldenNetwork(t, g)
	b, N, T := goldenBatch(t, g, true)
	w, err := n.NewWindow("1-1", N, T, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	grads := map[string][]float32{}
	for name := range n.values {
		grads[name] = make([]float32, len(n.values[name]))
	}
	loss, logRate, err := w.Run(1, b, grads)
	if err != nil {
		t.Fatal(err)
	}
	modeltest.Close(t, "log-rates", logRate, batchMajor(g.F64(t, "outputs", "log_rates"), T, N), 1e-4, 1e-6)
	modeltest.Close(t, "loss", []float64{loss}, g.F64(t, "outputs", "loss"), 1e-4, 0)
	for _, name := range g.Names("grads") {
		want := g.F64(t, "grads", name)
		got, ok := grads[ParamKey("1-1", name)]
		if !ok {
			continue // gradients of inputs
		}
		floor := 1e-6 * maxAbs(want)
		if strings.HasPrefix(name, "perspective.eye.") {
			// The eye MLP's gradients pass through the ray–monitor geometry, which amplifies
			// float32 rounding: the PyTorch reference itself, run in float32, deviates from
			// its float64 gradients by up to 1.7e-5 of each tensor's largest value here,
			// and this port by up to 5e-5 (measured); elsewhere both stay below 1e-6.
			floor = 1e-4 * maxAbs(want)
		}
		modeltest.Close(t, "gradient of "+name, got, want, 1e-4, floor+1e-9)
	}
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

// TestParityEvaluation compares the all-streams evaluation path with the reference.
func TestParityEvaluation(t *testing.T) {
	g := modeltest.LoadGolden(t, "testdata/golden/network_eval")
	n := goldenNetwork(t, g)
	b, N, T := goldenBatch(t, g, false)
	w, err := n.NewWindow("1-1", N, T, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	rates, _, err := w.Evaluate(b)
	if err != nil {
		t.Fatal(err)
	}
	modeltest.Close(t, "rates", rates, batchMajor(g.F64(t, "outputs", "rates"), T, N), 1e-4, 1e-6)
}

// randomBatch draws inputs for a window of the tiny network.
func randomBatch(rng *rand.Rand, c Config, N, T, U int) *Batch {
	b := &Batch{Frames: make([]uint8, N*T*c.StimulusHeight*c.StimulusWidth), Eye: make([]float32, N*T*2),
		Behavior: make([]float32, N*T*2), Jitter: make([]float32, N*6), Eps: make([]float32, N*U*2), Targets: make([]float32, N*T*U)}
	for i := range b.Frames {
		b.Frames[i] = uint8(rng.IntN(256))
	}
	for _, v := range [][]float32{b.Eye, b.Behavior} {
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
	}
	for i := range b.Targets {
		b.Targets[i] = float32(rng.ExpFloat64())
	}
	return b
}

// TestInitialRatesAreOne checks MODEL.md 12.2 items 5 and 6: at initialisation every
// rate is exactly 1 and the Poisson loss exactly 1, for any input.
func TestInitialRatesAreOne(t *testing.T) {
	n, err := Build(tinyConfig(), []SessionSpec{{Key: "1-1", Units: 7}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	w, err := n.NewWindow("1-1", 2, 5, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	b := randomBatch(rng, n.Config, 2, 5, 7)
	rates, loss, err := w.Evaluate(b)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rates {
		if r != 1 {
			t.Fatalf("rate %d = %v at initialisation, want exactly 1", i, r)
		}
	}
	if loss != 1 {
		t.Errorf("Poisson loss %v at initialisation, want exactly 1", loss)
	}
}

// TestStreamingEqualsWindow checks MODEL.md 12.3 item 10: frame-by-frame streaming and
// an unrolled window give the same outputs on the same input.
func TestStreamingEqualsWindow(t *testing.T) {
	g := modeltest.LoadGolden(t, "testdata/golden/network_eval")
	n := goldenNetwork(t, g)
	rng := rand.New(rand.NewPCG(5, 6))
	N, T, U := 2, 7, tinyUnits
	b := randomBatch(rng, n.Config, N, T, U)
	w, err := n.NewWindow("1-1", N, T, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := w.Evaluate(b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := n.NewStepper("1-1", N)
	if err != nil {
		t.Fatal(err)
	}
	HW := n.Config.StimulusHeight * n.Config.StimulusWidth
	for t0 := range T {
		frames := make([]uint8, N*HW)
		eye, beh := make([]float32, N*2), make([]float32, N*2)
		for k := range N {
			copy(frames[k*HW:(k+1)*HW], b.Frames[(k*T+t0)*HW:(k*T+t0+1)*HW])
			copy(eye[k*2:k*2+2], b.Eye[(k*T+t0)*2:(k*T+t0+1)*2])
			copy(beh[k*2:k*2+2], b.Behavior[(k*T+t0)*2:(k*T+t0+1)*2])
		}
		got, err := s.Step(frames, eye, beh)
		if err != nil {
			t.Fatal(err)
		}
		exp := make([]float64, N*U)
		for k := range N {
			for u := range U {
				exp[k*U+u] = float64(want[(k*T+t0)*U+u])
			}
		}
		// Same float32 kernels in a different grouping of frames: 1e-5 relative.
		modeltest.Close(t, fmt.Sprintf("streamed rates at frame %d", t0), got, exp, 1e-5, 1e-7)
	}
}

// TestCausality checks MODEL.md 12.3 item 8: changing frame t changes no output before t.
func TestCausality(t *testing.T) {
	g := modeltest.LoadGolden(t, "testdata/golden/network_eval")
	n := goldenNetwork(t, g)
	rng := rand.New(rand.NewPCG(7, 8))
	N, T, U := 1, 8, tinyUnits
	b := randomBatch(rng, n.Config, N, T, U)
	w, err := n.NewWindow("1-1", N, T, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	before, _, err := w.Evaluate(b)
	if err != nil {
		t.Fatal(err)
	}
	before = append([]float32(nil), before...)
	const t0 = 5
	HW := n.Config.StimulusHeight * n.Config.StimulusWidth
	for i := t0 * HW; i < (t0+1)*HW; i++ {
		b.Frames[i] = 255 - b.Frames[i]
	}
	after, _, err := w.Evaluate(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range after {
		frame := (i / U) % T
		if frame < t0 && after[i] != before[i] {
			t.Fatalf("changing frame %d changed the output of frame %d", t0, frame)
		}
	}
	changed := false
	for i := t0 * U; i < (t0+1)*U; i++ {
		changed = changed || after[i] != before[i]
	}
	if !changed {
		t.Errorf("changing frame %d changed nothing at frame %d: the test cannot see causality", t0, t0)
	}
}

// TestEvaluationIsMeanOfStreams checks MODEL.md 12.1 item 4: the ensemble's log-rate is
// the mean of the streams' log-rates.
func TestEvaluationIsMeanOfStreams(t *testing.T) {
	g := modeltest.LoadGolden(t, "testdata/golden/network_eval")
	n := goldenNetwork(t, g)
	rng := rand.New(rand.NewPCG(9, 10))
	b := randomBatch(rng, n.Config, 2, 4, tinyUnits)
	w, err := n.NewWindow("1-1", 2, 4, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	rates, _, err := w.Evaluate(b)
	if err != nil {
		t.Fatal(err)
	}
	rates = append([]float32(nil), rates...)
	mean := make([]float64, len(rates))
	for s := range n.Config.Streams {
		_, lr, err := w.Run(s, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range lr {
			mean[i] += float64(v) / float64(n.Config.Streams)
		}
	}
	want := make([]float64, len(mean))
	for i, m := range mean {
		want[i] = math.Exp(m)
	}
	modeltest.Close(t, "ensemble rates", rates, want, 1e-6, 0)
}

// TestSessionsOwnTheirParameters checks that two sessions never share storage: each has
// its own perspective, modulation and readout; both read the one core.
func TestSessionsOwnTheirParameters(t *testing.T) {
	n, err := Build(tinyConfig(), []SessionSpec{{Key: "1-1", Units: 3}, {Key: "2-1", Units: 4}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	a, b := n.Value(ParamKey("1-1", "readout.bias.0")), n.Value(ParamKey("2-1", "readout.bias.0"))
	if len(a) != 3 || len(b) != 4 {
		t.Fatalf("readout biases have %d and %d values, want 3 and 4", len(a), len(b))
	}
	p1, p2 := n.Value(ParamKey("1-1", "perspective.monitor.center")), n.Value(ParamKey("2-1", "perspective.monitor.center"))
	p1[0] = 7
	if p2[0] == 7 {
		t.Error("sessions share their perspective parameters")
	}
	if ParamKey("1-1", "core.recurrent.out.bias.0") != "core.recurrent.out.bias.0" {
		t.Error("core parameters must not be qualified by session")
	}
}
