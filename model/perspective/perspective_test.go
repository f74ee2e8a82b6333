package perspective_test

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/fmcore/fmcore/model/modeltest"
	"github.com/fmcore/fmcore/model/nn"
	"github.com/fmcore/fmcore/model/perspective"
)

// Parity of the MlpMonitorRetina module with the PyTorch reference (scripts/reference,
// fixtures model/perspective/testdata/golden/{eval,train}{,_f32}: the tiny configuration,
// N = 2 frames of 18×32 pixels → 16×24 retinal images; "train" adds monitor jitter).

// The stimulus of the fixtures' network.
const stimH, stimW = 18, 32

// tinyConfig is the perspective section of configs/tiny.yaml.
func tinyConfig() perspective.Config {
	c := perspective.Default()
	c.RetinaHeight, c.RetinaWidth = 16, 24
	return c
}

// Float64 tolerances. The reference and this port evaluate the same float64 expressions in a
// different order, and the retina's pixel curve (v + 1e-5)^p has slope ≈ 160 at v = 0, which
// amplifies round-off; measured worst differences are below 1e-13 of each array's scale
// (retina 1.7e-14, gradients 8.5e-14).
// 1e-9 relative (outputs) and 1e-8 (gradients, which pass through more operations) leave five
// orders of margin, while a real mistake (a flipped axis, a wrong sampling factor, a missing
// jitter term) moves values by 1e-3 or more. The absolute floors cover entries that cancel
// to near zero and the ~12 % of pixels whose value or gradient is exactly zero (off the
// monitor).
const (
	outRtol, outAtol   = 1e-9, 1e-12
	gradRtol, gradAtol = 1e-8, 1e-11
)

// Float32 tolerance against the reference run in float32: the fixture's own float32-vs-float64
// spread on the retina is 7.8e-6 (the pixel curve's slope amplifies float32 round-off, see the
// fixtures' README), so the absolute floor is the README's 2e-5 for the retina; 1e-4 relative
// is the float32 parity target.
const f32Rtol, f32Atol = 1e-4, 2e-5

// luminance returns (pixel/255)^power of the fixture's 0..255 stimulus (MODEL.md 4.1 step 1),
// and its derivative with respect to the pixel value, for the chain rule of the stimulus
// gradient.
func luminance(pix []float64, power float64) (lum, dlum []float64) {
	lum, dlum = make([]float64, len(pix)), make([]float64, len(pix))
	for i, p := range pix {
		lum[i] = math.Pow(p/255, power)
		dlum[i] = power / 255 * math.Pow(p/255, power-1)
	}
	return lum, dlum
}

// built is the module's graph on one fixture.
type built struct {
	g           *G.ExprGraph
	b           *nn.Builder
	p           *nn.Params
	lum, eye    *G.Node // [M, 1, H, W], [M, 2]
	jitter      *G.Node // [M, 6]: centre noise (3), angle noise (3)
	out         *G.Node // [M, 1, Hr, Wr]
	M           int
	dlum        []float64 // d luminance / d pixel
	paramsNames []string
}

// build builds the tiny module in dtype dt on the fixture's parameters and inputs.
func build(t *testing.T, gold *modeltest.Golden, dt tensor.Dtype, train bool) *built {
	t.Helper()
	cfg := tinyConfig()
	m, err := perspective.New(cfg, stimH, stimW)
	if err != nil {
		t.Fatal(err)
	}
	sh := gold.Shape(t, "inputs", "stimulus") // [M, 1, H, W]
	M := sh[0]
	g := G.NewGraph()
	bb := &built{g: g, b: nn.NewBuilder(g, nil), M: M}
	specs := cfg.Params()
	bb.p = goldenSlots(t, g, dt, specs, gold)
	for _, sp := range specs {
		bb.paramsNames = append(bb.paramsNames, sp.Name)
	}
	var lum []float64
	if dt == tensor.Float32 {
		// The float32 path as the network runs it: Luminance on the 8-bit frames.
		pix := gold.F64(t, "inputs", "stimulus")
		frames := make([]uint8, len(pix))
		for i, v := range pix {
			frames[i] = uint8(v)
		}
		l32 := make([]float32, len(frames))
		perspective.Luminance(l32, frames, cfg.MonitorPower)
		lum = make([]float64, len(l32))
		for i, v := range l32 {
			lum[i] = float64(v)
		}
	} else {
		lum, bb.dlum = luminance(gold.F64(t, "inputs", "stimulus"), cfg.MonitorPower)
	}
	jit := make([]float64, M*6)
	if train {
		c, a := gold.F64(t, "inputs", "center_noise"), gold.F64(t, "inputs", "angle_noise")
		for n := range M {
			copy(jit[n*6:n*6+3], c[n*3:n*3+3])
			copy(jit[n*6+3:n*6+6], a[n*3:n*3+3])
		}
	}
	bb.lum = input(g, dt, "luminance", lum, sh...)
	bb.eye = input(g, dt, "eye", gold.F64(t, "inputs", "eye"), M, 2)
	bb.jitter = input(g, dt, "jitter", jit, M, 6)
	bb.out = m.Forward(bb.b, bb.p, bb.lum, bb.eye, bb.jitter)
	if err := bb.b.Err(); err != nil {
		t.Fatalf("build: %v", err)
	}
	if miss := bb.p.Missing(); len(miss) > 0 {
		t.Fatalf("Forward asked for parameters the config does not define: %v", miss)
	}
	return bb
}

// goldenSlots creates one slot per spec (nn.NewSlots) and fills it with the fixture's array
// of the spec's name. Every fixture parameter must be used.
func goldenSlots(t *testing.T, g *G.ExprGraph, dt tensor.Dtype, specs []nn.ParamSpec, gold *modeltest.Golden) *nn.Params {
	t.Helper()
	p, err := nn.NewSlots(g, dt, specs)
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range specs {
		setValue(t, p.Nodes()[nn.SlotName(sp)], gold.F64(t, "params", sp.Name))
	}
	if n := len(gold.Names("params")); n != len(specs) {
		t.Fatalf("the fixture has %d parameters, the module's specs %d", n, len(specs))
	}
	return p
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
	for _, tc := range []struct {
		dir   string
		train bool
	}{{"eval", false}, {"train", true}} {
		t.Run(tc.dir, func(t *testing.T) {
			gold := modeltest.LoadGolden(t, "testdata/golden/"+tc.dir)
			bb := build(t, gold, tensor.Float64, tc.train)
			b := bb.b
			r := input(bb.g, tensor.Float64, "R", gold.F64(t, "inputs", "R"), bb.out.Shape()...)
			b.NoGrad(r)
			loss := b.Sum(b.Mul(bb.out, r)) // the fixture's loss Σ(retina ⊙ R)
			// Read the output by a copy taken during the run: gorgonia's tape may reuse the buffers of
			// intermediate nodes in the backward pass (seen with the readout's positions).
			var outVal G.Value
			G.Read(bb.out, &outVal)
			if err := b.Err(); err != nil {
				t.Fatal(err)
			}
			wrt := []*G.Node{bb.lum, bb.eye, bb.jitter}
			for _, name := range bb.paramsNames {
				wrt = append(wrt, bb.p.Nodes()[name])
			}
			if _, err := G.Grad(loss, wrt...); err != nil {
				t.Fatal(err)
			}
			vm := G.NewTapeMachine(bb.g, G.BindDualValues(wrt...))
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}

			got, want := modeltest.Float64s(outVal), gold.F64(t, "outputs", "retina")
			modeltest.Close(t, "retina", got, want, outRtol, outAtol)
			t.Logf("retina: worst error %.2g (scale-relative)", maxRel(got, want))

			grad := func(n *G.Node) []float64 {
				gv, err := n.Grad()
				if err != nil {
					t.Fatalf("gradient of %s: %v", n.Name(), err)
				}
				return modeltest.Float64s(gv)
			}
			noGrad := map[string]bool{}
			if l, ok := gold.Case["no_grad"].([]any); ok {
				for _, n := range l {
					noGrad[n.(string)] = true
				}
			}
			var worst float64
			compare := func(name string, got []float64) {
				want := gold.F64(t, "grads", name)
				modeltest.Close(t, "gradient of "+name, got, want, gradRtol, gradAtol)
				worst = math.Max(worst, maxRel(got, want))
			}
			for _, name := range bb.paramsNames {
				got := grad(bb.p.Nodes()[name])
				if noGrad[name] {
					// The jitter's stds get no gradient without jitter: exactly zero.
					modeltest.Close(t, "gradient of "+name+" (no jitter)", got, make([]float64, len(got)), 0, 0)
					continue
				}
				compare(name, got)
			}
			if !tc.train && len(noGrad) != 2 {
				t.Errorf("the eval fixture lists %d parameters without gradient, want the 2 jitter stds", len(noGrad))
			}
			// The stimulus gradient is with respect to pixel values: chain through the
			// luminance (pixel/255)^power computed outside the graph.
			gl := grad(bb.lum)
			for i := range gl {
				gl[i] *= bb.dlum[i]
			}
			compare("stimulus", gl)
			compare("eye", grad(bb.eye))
			if tc.train {
				gj := grad(bb.jitter)
				c, a := make([]float64, bb.M*3), make([]float64, bb.M*3)
				for n := range bb.M {
					copy(c[n*3:n*3+3], gj[n*6:n*6+3])
					copy(a[n*3:n*3+3], gj[n*6+3:n*6+6])
				}
				compare("center_noise", c)
				compare("angle_noise", a)
			}
			t.Logf("gradients of %d parameters and the inputs: worst error %.2g (scale-relative)", len(bb.paramsNames)-len(noGrad), worst)
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
			vm := G.NewTapeMachine(bb.g)
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			if bb.out.Dtype() != tensor.Float32 {
				t.Fatalf("output dtype %v, want float32", bb.out.Dtype())
			}
			got, want := modeltest.Float64s(bb.out.Value()), gold.F64(t, "outputs", "retina")
			modeltest.Close(t, "retina (float32)", got, want, f32Rtol, f32Atol)
			t.Logf("retina (float32): worst error %.2g (scale-relative)", maxRel(got, want))
		})
	}
}

// TestLuminance checks the fixed monitor transform against its definition (pixel/255)^power:
// 0 → 0, 255 → 1, and every level to float32 rounding.
func TestLuminance(t *testing.T) {
	frames := make([]uint8, 256)
	for i := range frames {
		frames[i] = uint8(i)
	}
	got := make([]float32, 256)
	perspective.Luminance(got, frames, 1.7)
	want, _ := luminance(func() []float64 {
		v := make([]float64, 256)
		for i := range v {
			v[i] = float64(i)
		}
		return v
	}(), 1.7)
	// float32 rounding of values in [0, 1]: half an ulp, below 6e-8 relative.
	modeltest.Close(t, "luminance", got, want, 6e-8, 0)
	if got[0] != 0 || got[255] != 1 {
		t.Errorf("luminance of 0 and 255 = %v, %v, want exactly 0 and 1", got[0], got[255])
	}
}
