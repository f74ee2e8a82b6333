package core_test

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/fmcore/fmcore/model/core"
	"github.com/fmcore/fmcore/model/modeltest"
	"github.com/fmcore/fmcore/model/nn"
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

// recurrent builds the tiny recurrent core of type typ on the fixture's inputs and returns the
// feedforward input [N, FF, T, h, w], the modulation [N, T, Mod], the output [N, C, T, h, w],
// the slots and the slot → fixture names.
func recurrent(t *testing.T, g *G.ExprGraph, b *nn.Builder, dt tensor.Dtype, typ core.Recurrent, gold *modeltest.Golden) (f, m, out *G.Node, p *nn.Params, names map[string]string) {
	t.Helper()
	cfg := tinyConfig(typ)
	ffOut := cfg.Feedforward.OutChannels
	sh := gold.Shape(t, "inputs", "feedforward") // [T, N, FF, h, w]
	T, N, FF := sh[0], sh[1], sh[2]
	if FF != ffOut {
		t.Fatalf("fixture feedforward has %d channels, the config %d", FF, ffOut)
	}
	p, names = goldenSlots(t, g, dt, cfg.Recurrent.Params(0, ffOut, tinyMod), gold)
	f = input(g, dt, "feedforward", tncToNCT(gold.F64(t, "inputs", "feedforward"), T, N, FF), N, FF, T, sh[3], sh[4])
	m = input(g, dt, "modulation", modeltest.TimeMajorToBatch(gold.F64(t, "inputs", "modulation"), T, N), N, T, tinyMod)
	out = core.NewRecurrent(cfg.Recurrent, ffOut, tinyMod).Forward(b, p, f, m, nil)
	if err := b.Err(); err != nil {
		t.Fatalf("build: %v", err)
	}
	if miss := p.Missing(); len(miss) > 0 {
		t.Fatalf("Forward asked for parameters the config does not define: %v", miss)
	}
	return f, m, out, p, names
}

func TestRecurrentParityFloat64(t *testing.T) {
	for _, tc := range recurrentCases() {
		t.Run(tc.dir, func(t *testing.T) {
			gold := modeltest.LoadGolden(t, "testdata/golden/"+tc.dir)
			g := G.NewGraph()
			b := nn.NewBuilder(g, nil)
			f, m, out, p, names := recurrent(t, g, b, tensor.Float64, tc.typ, gold)
			sh := gold.Shape(t, "outputs", "recurrent") // [T, N, C, h, w]
			T, N, C := sh[0], sh[1], sh[2]
			r := input(g, tensor.Float64, "R", tncToNCT(gold.F64(t, "inputs", "R"), T, N, C), out.Shape()...)
			b.NoGrad(r)
			loss := b.Sum(b.Mul(out, r)) // the fixture's loss Σ(recurrent ⊙ R)
			// Read the output by a copy taken during the run: gorgonia's tape may reuse the buffers of
			// intermediate nodes in the backward pass (seen with the readout's positions).
			var outVal G.Value
			G.Read(out, &outVal)
			if err := b.Err(); err != nil {
				t.Fatal(err)
			}
			wrt := []*G.Node{f, m}
			for slot := range names {
				wrt = append(wrt, p.Nodes()[slot])
			}
			if _, err := G.Grad(loss, wrt...); err != nil {
				t.Fatal(err)
			}
			run(t, g, wrt)

			got, want := nctToTNC(modeltest.Float64s(outVal), T, N, C), gold.F64(t, "outputs", "recurrent")
			modeltest.Close(t, "recurrent", got, want, outRtol, outAtol)
			t.Logf("recurrent: worst error %.2g (scale-relative)", maxRel(got, want))
			var worst float64
			compare := func(name string, got []float64) {
				want := gold.F64(t, "grads", name)
				modeltest.Close(t, "gradient of "+name, got, want, gradRtol, gradAtol)
				worst = math.Max(worst, maxRel(got, want))
			}
			for slot, name := range names {
				compare(name, gradOf(t, p.Nodes()[slot]))
			}
			compare("feedforward", nctToTNC(gradOf(t, f), T, N, f.Shape()[1]))
			compare("modulation", modeltest.TimeMajorToBatch(gradOf(t, m), N, T))
			t.Logf("gradients of %d parameters and both inputs: worst error %.2g (scale-relative)", len(names), worst)
		})
	}
}

func TestRecurrentParityFloat32(t *testing.T) {
	for _, tc := range recurrentCases() {
		t.Run(tc.dir, func(t *testing.T) {
			gold := modeltest.LoadGolden(t, "testdata/golden/"+tc.dir+"_f32")
			g := G.NewGraph()
			b := nn.NewBuilder(g, nil)
			_, _, out, _, _ := recurrent(t, g, b, tensor.Float32, tc.typ, gold)
			run(t, g, nil)
			if out.Dtype() != tensor.Float32 {
				t.Fatalf("output dtype %v, want float32", out.Dtype())
			}
			sh := gold.Shape(t, "outputs", "recurrent")
			got, want := nctToTNC(modeltest.Float64s(out.Value()), sh[0], sh[1], sh[2]), gold.F64(t, "outputs", "recurrent")
			modeltest.Close(t, "recurrent (float32)", got, want, f32Rtol, f32AtolRecurrent)
			t.Logf("recurrent (float32): worst error %.2g (scale-relative)", maxRel(got, want))
		})
	}
}
