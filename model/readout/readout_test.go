package readout_test

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/fmcore/fmcore/model/modeltest"
	"github.com/fmcore/fmcore/model/readout"
)

// Parity of the PositionFeature readout with the PyTorch reference (scripts/reference,
// fixtures model/readout/testdata/golden/{eval,train}{,_f32}: stream 0 of the tiny
// configuration, core [N=2, C=8, 2, 3] → log-rates [N, U=5]; "train" samples the positions
// with eps [N, U, 2]).

// Float64 tolerances. The reference and this port evaluate the same float64 expressions in a
// different order, so they differ by round-off (measured at most a few 1e-16 of each array's
// scale). 1e-9 relative (outputs) and 1e-8 (gradients) leave six orders of margin, while a
// real mistake (x and y swapped, align_corners, zero instead of border padding, sigma
// transposed) moves values by 1e-2 or more. The absolute floors cover entries that cancel to
// near zero.
const (
	outRtol, outAtol   = 1e-9, 1e-12
	gradRtol, gradAtol = 1e-8, 1e-11
)

// Float32 tolerance against the reference run in float32: its own float32-vs-float64 spread is
// 3.1e-7 on the log-rates and 3.8e-8 on the positions (case.json); 1e-4 relative with the
// README's 1e-5 floor is the float32 parity target, thirty times that spread.
const f32Rtol, f32Atol = 1e-4, 1e-5

// built is the readout's graph on one fixture.
type built struct {
	m            *modeltest.Module
	core, eps    *G.Node // [N, C, 1, h, w], [N, U, 2]
	pos, logRate *G.Node // [N, U, 2], [N, 1, U]
	N, U, C      int
}

// build builds the readout in dtype dt on the fixture's parameters and inputs.
func build(t *testing.T, gold *modeltest.Golden, dt tensor.Dtype, train bool) *built {
	t.Helper()
	sh := gold.Shape(t, "inputs", "core") // [N, C, h, w]
	N, C, h, w := sh[0], sh[1], sh[2], sh[3]
	U := gold.Shape(t, "params", "readout.bias.0")[0]
	ro, err := readout.New(readout.Default(), U, C)
	if err != nil {
		t.Fatal(err)
	}
	// Stream 0 only.
	bb := &built{m: modeltest.NewModule(t, gold, dt, readout.Default().Params(U, C, 1)), N: N, U: U, C: C}
	eps := make([]float64, N*U*2) // evaluation: the positions' means
	if train {
		eps = gold.F64(t, "inputs", "eps")
	}
	// One frame: the fixture's [N, C, h, w] is [N, C, T=1, h, w].
	bb.core = bb.m.Input("core", gold.F64(t, "inputs", "core"), N, C, 1, h, w)
	bb.eps = bb.m.Input("eps", eps, N, U, 2)
	bb.pos = ro.Positions(bb.m.B, bb.m.P, bb.eps)
	bb.logRate = ro.Forward(bb.m.B, bb.m.P, bb.core, bb.pos)
	bb.m.Built(t)
	return bb
}

func TestParityFloat64(t *testing.T) {
	for _, tc := range []struct {
		dir   string
		train bool
	}{{"eval", false}, {"train", true}} {
		t.Run(tc.dir, func(t *testing.T) {
			gold := modeltest.LoadGolden(t, "testdata/golden/"+tc.dir)
			bb := build(t, gold, tensor.Float64, tc.train)
			// The fixture's loss is Σ(log_rates ⊙ R), R [N, U] = [N, 1, U].
			res := bb.m.RunGrad(t, modeltest.Tol{Rtol: outRtol, Atol: outAtol}, modeltest.Tol{Rtol: gradRtol, Atol: gradAtol},
				gold.F64(t, "inputs", "R"), bb.logRate, bb.pos)
			res.CheckOutput("log_rates", res.Value(bb.logRate))
			res.CheckOutput("positions", res.Value(bb.pos))
			// sigma gets no gradient at the positions' means: exactly zero.
			noGrad := res.CheckParamGrads("(eps = 0)")
			if !tc.train && !noGrad["readout.sigma"] {
				t.Error("the eval fixture does not list readout.sigma as receiving no gradient")
			}
			res.CheckGrad("core", res.Grad(bb.core))
			if tc.train {
				res.CheckGrad("eps", res.Grad(bb.eps))
			}
			res.LogGrads()
		})
	}
}

func TestParityFloat32(t *testing.T) {
	for _, tc := range []struct {
		dir   string
		train bool
	}{{"eval_f32", false}, {"train_f32", true}} {
		t.Run(tc.dir, func(t *testing.T) {
			gold := modeltest.LoadGolden(t, "testdata/golden/"+tc.dir)
			bb := build(t, gold, tensor.Float32, tc.train)
			res := bb.m.Run(t, modeltest.Tol{Rtol: f32Rtol, Atol: f32Atol}, bb.logRate, bb.pos)
			res.CheckOutput("log_rates", res.Value(bb.logRate))
			res.CheckOutput("positions", res.Value(bb.pos))
		})
	}
}

// TestPositionParam checks that tanh(PositionParam(g)) places a unit at g, and that
// positions at or beyond the map's edge are held at ±0.95, where mu stays finite.
func TestPositionParam(t *testing.T) {
	for _, tc := range []struct{ g, want float64 }{{0, 0}, {0.3, 0.3}, {-0.8, -0.8}, {1, 0.95}, {-7, -0.95}} {
		if got := math.Tanh(float64(readout.PositionParam(tc.g))); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("tanh(PositionParam(%g)) = %g, want %g", tc.g, got, tc.want)
		}
	}
}
