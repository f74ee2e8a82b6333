package perspective_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
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
	m        *modeltest.Module
	lum, eye *G.Node // [M, 1, H, W], [M, 2]
	jitter   *G.Node // [M, 6]: centre noise (3), angle noise (3)
	out      *G.Node // [M, 1, Hr, Wr]
	M        int
	dlum     []float64 // d luminance / d pixel
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
	bb := &built{m: modeltest.NewModule(t, gold, dt, cfg.Params()), M: M}
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
	bb.lum = bb.m.Input("luminance", lum, sh...)
	bb.eye = bb.m.Input("eye", gold.F64(t, "inputs", "eye"), M, 2)
	bb.jitter = bb.m.Input("jitter", jit, M, 6)
	bb.out = m.Forward(bb.m.B, bb.m.P, bb.lum, bb.eye, bb.jitter)
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
			// The fixture's loss is Σ(retina ⊙ R).
			res := bb.m.RunGrad(t, modeltest.Tol{Rtol: outRtol, Atol: outAtol}, modeltest.Tol{Rtol: gradRtol, Atol: gradAtol},
				gold.F64(t, "inputs", "R"), bb.out)
			res.CheckOutput("retina", res.Value(bb.out))
			// The jitter's stds get no gradient without jitter: exactly zero.
			noGrad := res.CheckParamGrads("(no jitter)")
			if !tc.train && len(noGrad) != 2 {
				t.Errorf("the eval fixture lists %d parameters without gradient, want the 2 jitter stds", len(noGrad))
			}
			// The stimulus gradient is with respect to pixel values: chain through the
			// luminance (pixel/255)^power computed outside the graph.
			gl := slices.Clone(res.Grad(bb.lum))
			for i := range gl {
				gl[i] *= bb.dlum[i]
			}
			res.CheckGrad("stimulus", gl)
			res.CheckGrad("eye", res.Grad(bb.eye))
			if tc.train {
				gj := res.Grad(bb.jitter)
				c, a := make([]float64, bb.M*3), make([]float64, bb.M*3)
				for n := range bb.M {
					copy(c[n*3:n*3+3], gj[n*6:n*6+3])
					copy(a[n*3:n*3+3], gj[n*6+3:n*6+6])
				}
				res.CheckGrad("center_noise", c)
				res.CheckGrad("angle_noise", a)
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
			res := bb.m.Run(t, modeltest.Tol{Rtol: f32Rtol, Atol: f32Atol}, bb.out)
			res.CheckOutput("retina", res.Value(bb.out))
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

// TestStimulusToRetina follows rays forward from retinal pixels to the stimulus as
// MODEL.md 4.1 writes them (identity eye rotation, monitor at (0, 0, 0.5) facing the eye)
// and checks that StimulusToRetina brings each stimulus point back to its retinal pixel's
// grid coordinates. 1e-9: the two directions are float64 expressions of the same geometry.
func TestStimulusToRetina(t *testing.T) {
	cfg := perspective.Default()
	cfg.RetinaHeight, cfg.RetinaWidth = 32, 48
	const hIn, wIn = 36, 64
	m, err := perspective.New(cfg, hIn, wIn)
	if err != nil {
		t.Fatal(err)
	}
	h, w := float64(cfg.RetinaHeight), float64(cfg.RetinaWidth)
	lin := func(i int, n float64) float64 { return -1 + 2*float64(i)/(n-1) }
	for _, rc := range [][2]int{{0, 0}, {16, 24}, {5, 40}, {31, 47}, {20, 3}} {
		x := lin(rc[1], w) * (w - 1) / w
		y := lin(rc[0], h) * (h / w) * (w - 1) / w
		ecc := math.Hypot(x, y) * cfg.RetinaDegrees * math.Pi / 180
		az := math.Atan2(y, x)
		ray := [3]float64{math.Sin(ecc) * math.Cos(az), math.Sin(ecc) * math.Sin(az), math.Cos(ecc)}
		u, v := 0.5/ray[2]*ray[0], 0.5/ray[2]*ray[1]
		xs := u * wIn / (wIn - 1) * (w - 1) / w
		ys := v * wIn / hIn * wIn / (wIn - 1) * (h - 1) / h
		px, py := ((xs+1)*wIn-1)/2, ((ys+1)*hIn-1)/2
		gx, gy, ok := m.StimulusToRetina(px, py)
		wantX, wantY := (2*float64(rc[1])+1)/w-1, (2*float64(rc[0])+1)/h-1
		if math.Abs(gx-wantX) > 1e-9 || math.Abs(gy-wantY) > 1e-9 || !ok {
			t.Errorf("retinal pixel (row %d, col %d) → stimulus (%.3f, %.3f) → grid (%.9f, %.9f, %v), want (%.9f, %.9f, true)",
				rc[0], rc[1], px, py, gx, gy, ok, wantX, wantY)
		}
	}
	if _, _, ok := m.StimulusToRetina(-1e4, 17.5); ok {
		t.Error("a point far left of the stimulus is on the retina")
	}
}

// initRetina runs Forward at initialisation (float64; eye at 0) on one frame of luminance
// lum [hIn·wIn] with the jitter noise jit [6] (nil: none) and returns the retinal image
// [Hr·Wr] and the gradient of its sum with respect to the jitter's SDs [6] (centre, angles).
func initRetina(t *testing.T, cfg perspective.Config, hIn, wIn int, lum, jit []float64) (retina, stdGrad []float64) {
	t.Helper()
	m, err := perspective.New(cfg, hIn, wIn)
	if err != nil {
		t.Fatal(err)
	}
	g := G.NewGraph()
	specs := cfg.Params()
	p, err := nn.NewSlots(g, tensor.Float64, specs, "")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var stds []*G.Node
	for _, sp := range specs {
		if strings.HasSuffix(sp.Name, "_std") {
			stds = append(stds, p.Nodes()[nn.SlotName(sp)])
		}
		v32 := make([]float32, sp.Size())
		if err := sp.Fill(v32, rng); err != nil {
			t.Fatal(err)
		}
		v := make([]float64, len(v32))
		for i, x := range v32 {
			v[i] = float64(x)
		}
		modeltest.SetValue(t, p.Nodes()[nn.SlotName(sp)], v)
	}
	noise := make([]float64, 6)
	copy(noise, jit)
	b := nn.NewBuilder(g, nil)
	out := m.Forward(b, p,
		modeltest.InputNode(g, tensor.Float64, "lum", lum, 1, 1, hIn, wIn),
		modeltest.InputNode(g, tensor.Float64, "eye", make([]float64, 2), 1, 2),
		modeltest.InputNode(g, tensor.Float64, "jitter", noise, 1, 6))
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	grads, err := G.Grad(G.Must(G.Sum(out)), stds...)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	for _, gr := range grads {
		stdGrad = append(stdGrad, modeltest.Float64s(gr.Value())...)
	}
	return modeltest.Float64s(out.Value()), stdGrad
}

// TestForwardFollowsStimulusToRetina puts a small bright blob on the stimulus, runs Forward
// at initialisation with each projection and checks that the brightest retinal pixel is the
// one StimulusToRetina names (within one pixel: the blob's peak falls between retinal pixel
// centres, and the angular eye samples the monitor's edges 5 times more coarsely than its
// centre). This ties the readout positions mapped from the data to what the core sees.
func TestForwardFollowsStimulusToRetina(t *testing.T) {
	const hIn, wIn = 36, 64
	for _, proj := range []perspective.Projection{perspective.ProjectionAngular, perspective.ProjectionRectilinear} {
		cfg := perspective.Default()
		cfg.RetinaHeight, cfg.RetinaWidth, cfg.Projection = 32, 48, proj
		m, err := perspective.New(cfg, hIn, wIn)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range [][2]float64{{31.5, 17.5}, {10, 6}, {55, 29}, {6, 30}, {40, 12}} {
			lum := make([]float64, hIn*wIn)
			for y := range hIn {
				for x := range wIn {
					d2 := (float64(x)-c[0])*(float64(x)-c[0]) + (float64(y)-c[1])*(float64(y)-c[1])
					lum[y*wIn+x] = math.Exp(-d2 / (2 * 1.5 * 1.5))
				}
			}
			ret, _ := initRetina(t, cfg, hIn, wIn, lum, nil)
			best := 0
			for i, v := range ret {
				if v > ret[best] {
					best = i
				}
			}
			gx, gy, ok := m.StimulusToRetina(c[0], c[1])
			col := (gx+1)*float64(cfg.RetinaWidth)/2 - 0.5
			row := (gy+1)*float64(cfg.RetinaHeight)/2 - 0.5
			gotRow, gotCol := best/cfg.RetinaWidth, best%cfg.RetinaWidth
			if !ok || math.Abs(float64(gotCol)-col) > 1 || math.Abs(float64(gotRow)-row) > 1 {
				t.Errorf("%s: blob at stimulus (%.1f, %.1f): brightest retinal pixel (row %d, col %d), StimulusToRetina says (row %.2f, col %.2f, on the retina %v)",
					proj, c[0], c[1], gotRow, gotCol, row, col, ok)
			}
		}
	}
}

// TestRectilinearIsTheStimulus checks that a rectilinear retina of half the stimulus's size
// sees, at initialisation, exactly the stimulus resampled: each retinal pixel's centre lies on
// the corner shared by a 2×2 block of stimulus pixels, so bilinear sampling returns the
// block's mean, seen through the retina's pixel curve (v + 1e-5)^0.5 (scale 1, offset 0).
// 1e-12: float64 round-off of the ray-plane intersection moves the sampling point by ~1e-15
// pixels; a grid off by a fraction of a pixel (e.g. without the sampling factors, 0.5 % off)
// blends other pixels in and moves values by 1e-4 or more.
func TestRectilinearIsTheStimulus(t *testing.T) {
	const hIn, wIn = 24, 40
	cfg := perspective.Default()
	cfg.RetinaHeight, cfg.RetinaWidth, cfg.Projection = hIn/2, wIn/2, perspective.ProjectionRectilinear
	rng := rand.New(rand.NewPCG(3, 4))
	lum := make([]float64, hIn*wIn)
	for i := range lum {
		lum[i] = rng.Float64()
	}
	var want []float64
	for r := range hIn / 2 {
		for c := range wIn / 2 {
			i := 2*r*wIn + 2*c
			mean := (lum[i] + lum[i+1] + lum[i+wIn] + lum[i+wIn+1]) / 4
			want = append(want, math.Sqrt(mean+1e-5))
		}
	}
	got, _ := initRetina(t, cfg, hIn, wIn, lum, nil)
	modeltest.Close(t, "rectilinear retina", got, want, 0, 1e-12)
}

// TestJitterOff checks that jitter_std 0 turns the monitor's jitter off: the retina under a
// noise draw is the retina without one, and the SDs get no gradient, so they stay 0 in
// training (exactly: the noise is multiplied by 0); the released 0.05 moves the retina and
// gets a gradient.
func TestJitterOff(t *testing.T) {
	const hIn, wIn = 12, 20
	rng := rand.New(rand.NewPCG(5, 6))
	lum := make([]float64, hIn*wIn)
	for i := range lum {
		lum[i] = rng.Float64()
	}
	noise := []float64{1, -0.5, 0.8, 0.3, -1.2, 0.7}
	for _, std := range []float32{0, 0.05} {
		cfg := perspective.Default()
		cfg.RetinaHeight, cfg.RetinaWidth, cfg.JitterStd = 8, 12, std
		still, _ := initRetina(t, cfg, hIn, wIn, lum, nil)
		moved, grad := initRetina(t, cfg, hIn, wIn, lum, noise)
		if same := slices.Equal(still, moved); same != (std == 0) {
			t.Errorf("jitter_std %g: the retina under jitter noise equals the one without: %v, want %v", std, same, std == 0)
		}
		if zero := !slices.ContainsFunc(grad, func(v float64) bool { return v != 0 }); zero != (std == 0) {
			t.Errorf("jitter_std %g: gradient of the jitter's SDs %v, zero: %v, want %v", std, grad, zero, std == 0)
		}
	}
}
