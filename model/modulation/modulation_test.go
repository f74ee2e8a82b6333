package modulation_test

import (
	"fmt"
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/fmcore/fmcore/model/modeltest"
	"github.com/fmcore/fmcore/model/modulation"
	"github.com/fmcore/fmcore/model/nn"
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

// module builds the graph of the tiny module on behaviour [N, T, 2] with slots filled from the
// fixture and returns the output [N, T, Hd], the slots and a map from each slot to its fixture
// name.
func module(t *testing.T, g *G.ExprGraph, b *nn.Builder, dt tensor.Dtype, gold *modeltest.Golden, beh *G.Node) (*G.Node, *nn.Params, map[string]string) {
	t.Helper()
	cfg := tinyConfig()
	m, err := modulation.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	specs := cfg.Params(0)
	p, names := goldenSlots(t, g, dt, specs, gold)
	out := m.Forward(b, p, beh)
	if err := b.Err(); err != nil {
		t.Fatalf("build: %v", err)
	}
	if miss := p.Missing(); len(miss) > 0 {
		t.Fatalf("Forward asked for parameters the config does not define: %v", miss)
	}
	return out, p, names
}

// goldenSlots creates one slot per spec (nn.NewSlots) and fills it with the fixture's array of
// the spec's full (stream-suffixed) name. Every fixture parameter must be used.
func goldenSlots(t *testing.T, g *G.ExprGraph, dt tensor.Dtype, specs []nn.ParamSpec, gold *modeltest.Golden) (*nn.Params, map[string]string) {
	t.Helper()
	p, err := nn.NewSlots(g, dt, specs)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, sp := range specs {
		slot := nn.SlotName(sp)
		names[slot] = sp.Name
		setValue(t, p.Nodes()[slot], gold.F64(t, "params", sp.Name))
	}
	if n := len(gold.Names("params")); n != len(specs) {
		t.Fatalf("the fixture has %d parameters, the module's specs %d", n, len(specs))
	}
	return p, names
}

// setValue copies v into a node's float32 or float64 value.
func setValue(t *testing.T, n *G.Node, v []float64) {
	t.Helper()
	switch d := n.Value().Data().(type) {
	case []float64:
		if len(d) != len(v) {
			t.Fatalf("%s: %d values for %d", n.Name(), len(v), len(d))
		}
		copy(d, v)
	case []float32:
		if len(d) != len(v) {
			t.Fatalf("%s: %d values for %d", n.Name(), len(v), len(d))
		}
		for i, x := range v {
			d[i] = float32(x)
		}
	default:
		t.Fatalf("%s: storage %T", n.Name(), d)
	}
}

// input returns an input node of dtype dt holding v.
func input(g *G.ExprGraph, dt tensor.Dtype, name string, v []float64, shape ...int) *G.Node {
	var val *tensor.Dense
	if dt == tensor.Float32 {
		f := make([]float32, len(v))
		for i, x := range v {
			f[i] = float32(x)
		}
		val = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(f))
	} else {
		val = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float64(nil), v...)))
	}
	return G.NewTensor(g, dt, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(val))
}

// maxRel returns max|got − want| / max|want|: the worst error relative to the array's own
// scale, for the test log.
func maxRel(got, want []float64) float64 {
	var scale, worst float64
	for i, w := range want {
		scale = math.Max(scale, math.Abs(w))
		worst = math.Max(worst, math.Abs(got[i]-w))
	}
	return worst / math.Max(scale, 1e-300)
}

func TestParityFloat64(t *testing.T) {
	gold := modeltest.LoadGolden(t, "testdata/golden/stream0")
	sh := gold.Shape(t, "inputs", "behavior") // [T, N, 2]
	T, N := sh[0], sh[1]
	g := G.NewGraph()
	b := nn.NewBuilder(g, nil)
	beh := input(g, tensor.Float64, "behavior", modeltest.TimeMajorToBatch(gold.F64(t, "inputs", "behavior"), T, N), N, T, 2)
	out, p, names := module(t, g, b, tensor.Float64, gold, beh)
	hd := out.Shape()[2]
	r := input(g, tensor.Float64, "R", modeltest.TimeMajorToBatch(gold.F64(t, "inputs", "R"), T, N), N, T, hd)
	b.NoGrad(r)
	loss := b.Sum(b.Mul(out, r)) // the fixture's loss Σ(output ⊙ R)
	// Read the output by a copy taken during the run: gorgonia's tape may reuse the buffers of
	// intermediate nodes in the backward pass (seen with the readout's positions).
	var outVal G.Value
	G.Read(out, &outVal)
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	wrt := []*G.Node{beh}
	for slot := range names {
		wrt = append(wrt, p.Nodes()[slot])
	}
	if _, err := G.Grad(loss, wrt...); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g, G.BindDualValues(wrt...))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}

	got := modeltest.TimeMajorToBatch(modeltest.Float64s(outVal), N, T) // [N, T] → [T, N]
	want := gold.F64(t, "outputs", "modulation")
	modeltest.Close(t, "modulation", got, want, outRtol, outAtol)
	t.Logf("modulation: worst error %.2g (scale-relative)", maxRel(got, want))

	grad := func(n *G.Node) []float64 {
		gv, err := n.Grad()
		if err != nil {
			t.Fatalf("gradient of %s: %v", n.Name(), err)
		}
		return modeltest.Float64s(gv)
	}
	var worst float64
	for slot, name := range names {
		got, want := grad(p.Nodes()[slot]), gold.F64(t, "grads", name)
		modeltest.Close(t, "gradient of "+name, got, want, gradRtol, gradAtol)
		worst = math.Max(worst, maxRel(got, want))
	}
	gb := modeltest.TimeMajorToBatch(grad(beh), N, T)
	modeltest.Close(t, "gradient of behavior", gb, gold.F64(t, "grads", "behavior"), gradRtol, gradAtol)
	worst = math.Max(worst, maxRel(gb, gold.F64(t, "grads", "behavior")))
	t.Logf("gradients (%d parameters and the input): worst error %.2g (scale-relative)", len(names), worst)
}

func TestParityFloat32(t *testing.T) {
	gold := modeltest.LoadGolden(t, "testdata/golden/stream0_f32")
	sh := gold.Shape(t, "inputs", "behavior")
	T, N := sh[0], sh[1]
	g := G.NewGraph()
	b := nn.NewBuilder(g, nil)
	beh := input(g, tensor.Float32, "behavior", modeltest.TimeMajorToBatch(gold.F64(t, "inputs", "behavior"), T, N), N, T, 2)
	out, _, _ := module(t, g, b, tensor.Float32, gold, beh)
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	if out.Dtype() != tensor.Float32 {
		t.Fatalf("output dtype %v, want float32", out.Dtype())
	}
	got := modeltest.TimeMajorToBatch(modeltest.Float64s(out.Value()), N, T)
	want := gold.F64(t, "outputs", "modulation")
	modeltest.Close(t, "modulation (float32)", got, want, f32Rtol, f32Atol)
	t.Logf("modulation (float32): worst error %.2g (scale-relative)", maxRel(got, want))
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
	g := G.NewGraph()
	b := nn.NewBuilder(g, nil)
	p, _ := goldenSlots(t, g, tensor.Float64, cfg.Params(0), gold)
	beh := gold.F64(t, "inputs", "behavior") // time-major: frame t is rows [t·N, (t+1)·N)
	var h, c *G.Node
	outs := make([]G.Value, T)
	for f := range T {
		// Unique names: gorgonia merges input nodes of equal name and shape into one.
		x := input(g, tensor.Float64, fmt.Sprintf("behavior.%d", f), beh[f*N*2:(f+1)*N*2], N, 2)
		h, c = m.Step(b, p, x, h, c)
		G.Read(h, &outs[f]) // a copy: the tape reuses intermediate buffers
	}
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	var got []float64
	for _, o := range outs {
		got = append(got, modeltest.Float64s(o)...) // [T, N, Hd]
	}
	modeltest.Close(t, "streamed modulation", got, gold.F64(t, "outputs", "modulation"), outRtol, outAtol)
}
