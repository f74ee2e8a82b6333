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

// feedforward builds the tiny feedforward core in dtype dt on the fixture's retina (time-major
// in the fixture, [N, 1, T, H, W] here) and returns the module, the retina node and the output
// [N, C, T, h, w].
func feedforward(t *testing.T, gold *modeltest.Golden, dt tensor.Dtype) (mod *modeltest.Module, x, out *G.Node) {
	t.Helper()
	cfg := tinyConfig(core.CvtLSTM).Feedforward
	sh := gold.Shape(t, "inputs", "retina") // [T, N, 1, H, W]
	T, N, H, W := sh[0], sh[1], sh[3], sh[4]
	mod = modeltest.NewModule(t, gold, dt, cfg.Params(0))
	// C = 1: [T, N, 1, H, W] → [N, 1, T, H, W] is the (t, n) → (n, t) swap.
	x = mod.Input("retina", modeltest.TimeMajorToBatch(gold.F64(t, "inputs", "retina"), T, N), N, 1, T, H, W)
	out = core.NewFeedforward(cfg).Forward(mod.B, mod.P, x, nil)
	mod.Built(t)
	return mod, x, out
}

func TestFeedforwardParityFloat64(t *testing.T) {
	gold := modeltest.LoadGolden(t, "testdata/golden/feedforward")
	mod, x, out := feedforward(t, gold, tensor.Float64)
	sh := gold.Shape(t, "outputs", "feedforward") // [T, N, C, h, w]
	T, N, C := sh[0], sh[1], sh[2]
	// The fixture's loss is Σ(feedforward ⊙ R).
	res := mod.RunGrad(t, modeltest.Tol{Rtol: outRtol, Atol: outAtol}, modeltest.Tol{Rtol: gradRtol, Atol: gradAtol},
		tncToNCT(gold.F64(t, "inputs", "R"), T, N, C), out)
	res.CheckOutput("feedforward", nctToTNC(res.Value(out), T, N, C))
	res.CheckParamGrads("")
	res.CheckGrad("retina", modeltest.TimeMajorToBatch(res.Grad(x), N, T)) // [N, 1, T, …] → [T, N, 1, …]
	res.LogGrads()
}

func TestFeedforwardParityFloat32(t *testing.T) {
	gold := modeltest.LoadGolden(t, "testdata/golden/feedforward_f32")
	mod, _, out := feedforward(t, gold, tensor.Float32)
	res := mod.Run(t, modeltest.Tol{Rtol: f32Rtol, Atol: f32AtolFF}, out)
	sh := gold.Shape(t, "outputs", "feedforward")
	res.CheckOutput("feedforward", nctToTNC(res.Value(out), sh[0], sh[1], sh[2]))
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
	p, err := nn.NewSlots(g, tensor.Float64, specs, "")
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
		modeltest.SetValue(t, p.Nodes()[nn.SlotName(sp)], vals)
	}
	const H, W = 16, 24
	frames := make([]float64, T*H*W)
	for i := range frames {
		frames[i] = rng.Float64()
	}
	x := modeltest.InputNode(g, tensor.Float64, "retina", frames, 1, 1, T, H, W)
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
