package core_test

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/fmcore/fmcore/model/core"
	"github.com/fmcore/fmcore/model/modeltest"
)

// Parity of the recurrent cores with the PyTorch reference (fixtures
// model/core/testdata/golden/{cvt_lstm,conv_lstm}{,_f32}: stream 0 of the tiny configuration,
// feedforward [T=6, N=2, 8, 2, 3] and modulation [T, N, 4] → [T, N, 8, 2, 3] from reset).

// recurrentCase is one fixture case of a recurrent core.
type recurrentCase struct {
	dir string
	typ core.Recurrent
}

// recurrentCases lists both recurrent cores.
func recurrentCases() []recurrentCase {
	return []recurrentCase{{"cvt_lstm", core.CvtLSTM}, {"conv_lstm", core.ConvLSTM}}
}

// recurrent builds the tiny recurrent core of type typ in dtype dt on the fixture's inputs and
// returns the module, the feedforward input [N, FF, T, h, w], the modulation [N, T, Mod] and the
// output [N, C, T, h, w].
func recurrent(t *testing.T, gold *modeltest.Golden, dt tensor.Dtype, typ core.Recurrent) (mod *modeltest.Module, f, m, out *G.Node) {
	t.Helper()
	cfg := tinyConfig(typ)
	ffOut := cfg.Feedforward.OutChannels
	sh := gold.Shape(t, "inputs", "feedforward") // [T, N, FF, h, w]
	T, N, FF := sh[0], sh[1], sh[2]
	if FF != ffOut {
		t.Fatalf("fixture feedforward has %d channels, the config %d", FF, ffOut)
	}
	mod = modeltest.NewModule(t, gold, dt, cfg.Recurrent.Params(0, ffOut, tinyMod))
	f = mod.Input("feedforward", tncToNCT(gold.F64(t, "inputs", "feedforward"), T, N, FF), N, FF, T, sh[3], sh[4])
	m = mod.Input("modulation", modeltest.TimeMajorToBatch(gold.F64(t, "inputs", "modulation"), T, N), N, T, tinyMod)
	out = core.NewRecurrent(cfg.Recurrent, ffOut, tinyMod).Forward(mod.B, mod.P, f, m, nil)
	mod.Built(t)
	return mod, f, m, out
}

func TestRecurrentParityFloat64(t *testing.T) {
	for _, tc := range recurrentCases() {
		t.Run(tc.dir, func(t *testing.T) {
			gold := modeltest.LoadGolden(t, "testdata/golden/"+tc.dir)
			mod, f, m, out := recurrent(t, gold, tensor.Float64, tc.typ)
			sh := gold.Shape(t, "outputs", "recurrent") // [T, N, C, h, w]
			T, N, C := sh[0], sh[1], sh[2]
			// The fixture's loss is Σ(recurrent ⊙ R).
			res := mod.RunGrad(t, modeltest.Tol{Rtol: outRtol, Atol: outAtol}, modeltest.Tol{Rtol: gradRtol, Atol: gradAtol},
				tncToNCT(gold.F64(t, "inputs", "R"), T, N, C), out)
			res.CheckOutput("recurrent", nctToTNC(res.Value(out), T, N, C))
			res.CheckParamGrads("")
			res.CheckGrad("feedforward", nctToTNC(res.Grad(f), T, N, f.Shape()[1]))
			res.CheckGrad("modulation", modeltest.TimeMajorToBatch(res.Grad(m), N, T))
			res.LogGrads()
		})
	}
}

func TestRecurrentParityFloat32(t *testing.T) {
	for _, tc := range recurrentCases() {
		t.Run(tc.dir, func(t *testing.T) {
			gold := modeltest.LoadGolden(t, "testdata/golden/"+tc.dir+"_f32")
			mod, _, _, out := recurrent(t, gold, tensor.Float32, tc.typ)
			res := mod.Run(t, modeltest.Tol{Rtol: f32Rtol, Atol: f32AtolRecurrent}, out)
			sh := gold.Shape(t, "outputs", "recurrent")
			res.CheckOutput("recurrent", nctToTNC(res.Value(out), sh[0], sh[1], sh[2]))
		})
	}
}
