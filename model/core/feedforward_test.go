package core_test

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/fmcore/fmcore/model/core"
	"github.com/fmcore/fmcore/model/modeltest"
	"github.com/fmcore/fmcore/model/nn"
)

// Parity of the InputDense feedforward core with the PyTorch reference (fixtures
// model/core/testdata/golden/feedforward{,_f32}: stream 0 of the tiny configuration, retina
// [T=6, N=2, 1, 16, 24] → [T, N, 8, 2, 3]).

// feedforward builds the tiny feedforward core on the fixture's retina (time-major in the
// fixture, [N, 1, T, H, W] here) and returns the retina node, the output [N, C, T, h, w], the
// slots and the slot → fixture names.
func feedforward(t *testing.T, g *G.ExprGraph, b *nn.Builder, dt tensor.Dtype, gold *modeltest.Golden) (x, out *G.Node, p *nn.Params, names map[string]string) {
	t.Helper()
	cfg := tinyConfig(core.CvtLSTM).Feedforward
	sh := gold.Shape(t, "inputs", "retina") // [T, N, 1, H, W]
	T, N, H, W := sh[0], sh[1], sh[3], sh[4]
	p, names = goldenSlots(t, g, dt, cfg.Params(0), gold)
	// C = 1: [T, N, 1, H, W] → [N, 1, T, H, W] is the (t, n) → (n, t) swap.
	x = input(g, dt, "retina", modeltest.TimeMajorToBatch(gold.F64(t, "inputs", "retina"), T, N), N, 1, T, H, W)
	out = core.NewFeedforward(cfg).Forward(b, p, x, nil)
	if err := b.Err(); err != nil {
		t.Fatalf("build: %v", err)
	}
	if miss := p.Missing(); len(miss) > 0 {
		t.Fatalf("Forward asked for parameters the config does not define: %v", miss)
	}
	return x, out, p, names
}

func TestFeedforwardParityFloat64(t *testing.T) {
	gold := modeltest.LoadGolden(t, "testdata/golden/feedforward")
	g := G.NewGraph()
	b := nn.NewBuilder(g, nil)
	x, out, p, names := feedforward(t, g, b, tensor.Float64, gold)
	sh := gold.Shape(t, "outputs", "feedforward") // [T, N, C, h, w]
	T, N, C := sh[0], sh[1], sh[2]
	r := input(g, tensor.Float64, "R", tncToNCT(gold.F64(t, "inputs", "R"), T, N, C), out.Shape()...)
	b.NoGrad(r)
	loss := b.Sum(b.Mul(out, r)) // the fixture's loss Σ(feedforward ⊙ R)
	// Read the output by a copy taken during the run: gorgonia's tape may reuse the buffers of
	// intermediate nodes in the backward pass (seen with the readout's positions).
	var outVal G.Value
	G.Read(out, &outVal)
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	wrt := []*G.Node{x}
	for slot := range names {
		wrt = append(wrt, p.Nodes()[slot])
	}
	if _, err := G.Grad(loss, wrt...); err != nil {
		t.Fatal(err)
	}
	run(t, g, wrt)

	got, want := nctToTNC(modeltest.Float64s(outVal), T, N, C), gold.F64(t, "outputs", "feedforward")
	modeltest.Close(t, "feedforward", got, want, outRtol, outAtol)
	t.Logf("feedforward: worst error %.2g (scale-relative)", maxRel(got, want))
	var worst float64
	for slot, name := range names {
		got, want := gradOf(t, p.Nodes()[slot]), gold.F64(t, "grads", name)
		modeltest.Close(t, "gradient of "+name, got, want, gradRtol, gradAtol)
		worst = math.Max(worst, maxRel(got, want))
	}
	gx := modeltest.TimeMajorToBatch(gradOf(t, x), N, T) // [N, 1, T, …] → [T, N, 1, …]
	modeltest.Close(t, "gradient of retina", gx, gold.F64(t, "grads", "retina"), gradRtol, gradAtol)
	worst = math.Max(worst, maxRel(gx, gold.F64(t, "grads", "retina")))
	t.Logf("gradients of %d parameters and the retina: worst error %.2g (scale-relative)", len(names), worst)
}

func TestFeedforwardParityFloat32(t *testing.T) {
	gold := modeltest.LoadGolden(t, "testdata/golden/feedforward_f32")
	g := G.NewGraph()
	b := nn.NewBuilder(g, nil)
	_, out, _, _ := feedforward(t, g, b, tensor.Float32, gold)
	run(t, g, nil)
	if out.Dtype() != tensor.Float32 {
		t.Fatalf("output dtype %v, want float32", out.Dtype())
	}
	sh := gold.Shape(t, "outputs", "feedforward")
	got, want := nctToTNC(modeltest.Float64s(out.Value()), sh[0], sh[1], sh[2]), gold.F64(t, "outputs", "feedforward")
	modeltest.Close(t, "feedforward (float32)", got, want, f32Rtol, f32AtolFF)
	t.Logf("feedforward (float32): worst error %.2g (scale-relative)", maxRel(got, want))
}

// TestFeedforwardReceptiveField checks MODEL.md 12.3 item 9: the feedforward core's temporal
// receptive field is exactly 13 frames (three blocks of two causal convolutions of 3 frames:
// 1 + 6·2). With random parameters, changing input frame t0 changes the outputs of frames
// t0 … t0+12 and leaves every other frame bit-for-bit unchanged (each output frame is computed
// from the same input values in the same order).
func TestFeedforwardReceptiveField(t *testing.T) {
	const (
		T, t0 = 20, 4
		field = 13
	)
	cfg := tinyConfig(core.CvtLSTM).Feedforward
	rng := rand.New(rand.NewPCG(13, 9))
	specs := cfg.Params(0)
	g := G.NewGraph()
	b := nn.NewBuilder(g, nil)
	p, err := nn.NewSlots(g, tensor.Float64, specs)
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range specs {
		v := make([]float32, sp.Size())
		if err := sp.Fill(v, rng); err != nil {
			t.Fatal(err)
		}
		vals := make([]float64, len(v))
		for i, x := range v {
			vals[i] = float64(x)
			if sp.Init.Kind != nn.InitUniform && sp.Init.Kind != nn.InitUniform3 {
				vals[i] += 0.1 * rng.NormFloat64() // gains and biases off their constant init
			}
		}
		setValue(t, p.Nodes()[nn.SlotName(sp)], vals)
	}
	const H, W = 16, 24
	frames := make([]float64, T*H*W)
	for i := range frames {
		frames[i] = rng.Float64()
	}
	x := input(g, tensor.Float64, "retina", frames, 1, 1, T, H, W)
	out := core.NewFeedforward(cfg).Forward(b, p, x, nil) // [1, C, T, h, w]
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	runOnce := func() []float64 {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return modeltest.Float64s(out.Value())
	}
	before := runOnce()
	for i := t0 * H * W; i < (t0+1)*H*W; i++ {
		frames[i] = rng.Float64()
	}
	if err := G.Let(x, tensor.New(tensor.WithShape(1, 1, T, H, W), tensor.WithBacking(frames))); err != nil {
		t.Fatal(err)
	}
	after := runOnce()

	C, P := out.Shape()[1], out.Shape()[3]*out.Shape()[4]
	for f := range T {
		var diff float64
		for c := range C {
			for k := range P {
				i := (c*T+f)*P + k
				diff = math.Max(diff, math.Abs(after[i]-before[i]))
			}
		}
		inField := f >= t0 && f < t0+field
		switch {
		case inField && !(diff > 0):
			t.Errorf("frame %d: unchanged by input frame %d, want a receptive field of %d frames", f, t0, field)
		case !inField && diff != 0:
			t.Errorf("frame %d: changed by %.3g by input frame %d, outside the %d-frame receptive field", f, diff, t0, field)
		}
		if inField {
			t.Logf("frame %d: output changed by up to %.3g", f, diff)
		}
	}
}
