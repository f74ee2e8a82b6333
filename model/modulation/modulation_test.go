package modulation_test

import (
	"fmt"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/fmcore/fmcore/model/modeltest"
	"github.com/fmcore/fmcore/model/modulation"
)

// Parity of the MlpLstm module with the PyTorch reference (scripts/reference, fixtures
// model/modulation/testdata/golden/stream0{,_f32}: stream 0 of the tiny configuration,
// T = 6 frames from reset, N = 2).

// tinyConfig is the modulation section of configs/tiny.yaml (the fixtures' network).
func tinyConfig() modulation.Config {
	c := modulation.Default()
	c.Features, c.Hidden = 4, 4
	return c
}

// Float64 tolerances. The reference and this port compute the same float64 expressions in a
// different order (matrix products, sums), so they differ by accumulated round-off: measured
// at most 3.5e-16 (outputs) and 7.3e-16 (gradients) of each array's scale over six LSTM steps. 1e-9 and 1e-8 leave six orders of margin, while any real mistake (a swapped
// gate, a missing γ, a wrong bias) moves values by 1e-2 or more. The absolute floors cover
// entries that cancel to near zero.
const (
	outRtol, outAtol   = 1e-9, 1e-12
	gradRtol, gradAtol = 1e-8, 1e-11
)

// Float32 tolerance against the reference run in float32: the fixture's own float32-vs-float64
// spread on this output is 8e-8 (case.json); 1e-4 relative with a 1e-5 floor is the issue's
// float32 parity target and the README's suggestion, about a hundred times that spread.
const f32Rtol, f32Atol = 1e-4, 1e-5

// module builds the tiny module in dtype dt with slots filled from the fixture, on the
// fixture's behaviour (time-major [T, N, 2] there, [N, T, 2] here), and returns it with the
// behaviour input, the output [N, T, Hd], and T, N.
func module(t *testing.T, gold *modeltest.Golden, dt tensor.Dtype) (mod *modeltest.Module, beh, out *G.Node, T, N int) {
	t.Helper()
	cfg := tinyConfig()
	m, err := modulation.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sh := gold.Shape(t, "inputs", "behavior") // [T, N, 2]
	T, N = sh[0], sh[1]
	mod = modeltest.NewModule(t, gold, dt, cfg.Params(0))
	beh = mod.Input("behavior", modeltest.TimeMajorToBatch(gold.F64(t, "inputs", "behavior"), T, N), N, T, 2)
	out = m.Forward(mod.B, mod.P, beh)
	mod.Built(t)
	return mod, beh, out, T, N
}

func TestParityFloat64(t *testing.T) {
	gold := modeltest.LoadGolden(t, "testdata/golden/stream0")
	mod, beh, out, T, N := module(t, gold, tensor.Float64)
	// The fixture's loss is Σ(output ⊙ R), R time-major like the output.
	res := mod.RunGrad(t, modeltest.Tol{Rtol: outRtol, Atol: outAtol}, modeltest.Tol{Rtol: gradRtol, Atol: gradAtol},
		modeltest.TimeMajorToBatch(gold.F64(t, "inputs", "R"), T, N), out)
	res.CheckOutput("modulation", modeltest.TimeMajorToBatch(res.Value(out), N, T)) // [N, T] → [T, N]
	res.CheckParamGrads("")
	res.CheckGrad("behavior", modeltest.TimeMajorToBatch(res.Grad(beh), N, T))
	res.LogGrads()
}

func TestParityFloat32(t *testing.T) {
	gold := modeltest.LoadGolden(t, "testdata/golden/stream0_f32")
	mod, _, out, T, N := module(t, gold, tensor.Float32)
	res := mod.Run(t, modeltest.Tol{Rtol: f32Rtol, Atol: f32Atol}, out)
	res.CheckOutput("modulation", modeltest.TimeMajorToBatch(res.Value(out), N, T))
}

// TestStepMatchesReference runs the streaming Step frame by frame from reset (h = c = nil) on
// the fixture's behaviour and compares every frame's modulation vector with the reference,
// to the float64 output tolerance: Step and Forward must be the same computation.
func TestStepMatchesReference(t *testing.T) {
	gold := modeltest.LoadGolden(t, "testdata/golden/stream0")
	sh := gold.Shape(t, "inputs", "behavior") // [T, N, 2]
	T, N := sh[0], sh[1]
	cfg := tinyConfig()
	m, err := modulation.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mod := modeltest.NewModule(t, gold, tensor.Float64, cfg.Params(0))
	beh := gold.F64(t, "inputs", "behavior") // time-major: frame t is rows [t·N, (t+1)·N)
	var h, c *G.Node
	hs := make([]*G.Node, T)
	for f := range T {
		// Unique names: gorgonia merges input nodes of equal name and shape into one.
		x := mod.Input(fmt.Sprintf("behavior.%d", f), beh[f*N*2:(f+1)*N*2], N, 2)
		h, c = m.Step(mod.B, mod.P, x, h, c)
		hs[f] = h
	}
	mod.Built(t)
	res := mod.Run(t, modeltest.Tol{Rtol: outRtol, Atol: outAtol}, hs...) // copies: the tape reuses intermediate buffers
	var got []float64
	for _, h := range hs {
		got = append(got, res.Value(h)...) // [T, N, Hd]
	}
	modeltest.Close(t, "streamed modulation", got, gold.F64(t, "outputs", "modulation"), outRtol, outAtol)
}
