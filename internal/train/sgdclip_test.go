package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// refTol bounds the gap between the float32 optimizer and the float64 reference after three
// steps. Values are O(1): float32 rounding (ulp 1.2e-7 at 1) over a handful of operations per
// step stays below 1e-6, while the test's hyperparameters (lr 0.5, decay 0.05, momentum 0.9)
// make every term of the update move a value by 1e-3 or more, so a missing or misplaced term
// fails by two orders of magnitude.
const refTol = 1e-5

// refState is the float64 reference of one parameter.
type refState struct {
	v, buf []float64
	first  bool
}

// clipStats counts the clipping regimes refStep met, per slice, so the test can prove that it
// exercised each of them.
type clipStats struct{ passed, clipped, floored int }

// refStep is MODEL.md 7.4 written out element by element in float64, with the slice of each
// element found by unravelling its index (independent of normLayout).
func refStep(cfg SgdClipConfig, p *Param, g []float64, s *refState, lr float64, st *clipStats) {
	n := len(s.v)
	kept := make([]bool, len(p.Shape))
	if len(p.NormDims) > 0 {
		for a := range kept {
			kept[a] = !slices.Contains(p.NormDims, a)
		}
	}
	slice := func(i int) int {
		key := 0
		for a := len(p.Shape) - 1; a >= 0; a-- {
			if kept[a] {
				// mixed radix over the kept axes; the multiplier below makes keys unique
				key = key*1000 + i%p.Shape[a]
			}
			i /= p.Shape[a]
		}
		return key
	}
	d := make([]float64, n)
	for i := range d {
		d[i] = g[i] * float64(p.Scale)
	}
	if !math.IsInf(cfg.Clip, 1) {
		pn, dn := map[int]float64{}, map[int]float64{}
		for i := range d {
			pn[slice(i)] += s.v[i] * s.v[i]
			dn[slice(i)] += d[i] * d[i]
		}
		factor := map[int]float64{}
		for k := range pn {
			floor := cfg.Eps * math.Sqrt(float64(n))
			m := math.Max(cfg.Clip*math.Sqrt(pn[k]), floor)
			factor[k] = m / math.Max(math.Sqrt(dn[k]), m)
			switch {
			case factor[k] == 1:
				st.passed++
			case m == floor:
				st.floored++
			default:
				st.clipped++
			}
		}
		for i := range d {
			d[i] *= factor[slice(i)]
		}
	}
	if cfg.Momentum > 0 {
		for i := range d {
			if s.first {
				s.buf[i] = d[i]
			} else {
				s.buf[i] = cfg.Momentum*s.buf[i] + d[i]
			}
			if cfg.Nesterov {
				d[i] += cfg.Momentum * s.buf[i]
			} else {
				d[i] = s.buf[i]
			}
		}
		s.first = false
	}
	if p.Decay {
		for i := range d {
			d[i] += cfg.WeightDecay * s.v[i]
		}
	}
	for i := range d {
		s.v[i] -= lr * d[i]
	}
}

// layouts are the NormDims layouts of MODEL.md 1.6 at small sizes.
func layouts() []struct {
	name     string
	shape    []int
	normDims []int
	scale    float32
	decay    bool
} {
	return []struct {
		name     string
		shape    []int
		normDims []int
		scale    float32
		decay    bool
	}{
		{"per row", []int{6, 9}, []int{1}, 1, false},
		{"per filter", []int{4, 3, 2, 3, 3}, []int{1, 2, 3, 4}, 1, true},
		{"whole tensor", []int{5, 7}, nil, 1, false},
		{"axes 1 and 3", []int{3, 2, 4, 5}, []int{1, 3}, 1, true},
		{"axes 3 and 1 unsorted", []int{3, 2, 4, 5}, []int{3, 1}, 1, true},
		{"readout features per unit", []int{5, 1, 6}, []int{2}, 5, true},
		{"readout bias axis 0", []int{7, 1}, []int{0}, 7, false},
		{"scalar", nil, nil, 1, false},
	}
}

// randomParam returns a parameter with N(0, 1) values and gradients scaled per slice by 1e-5 or
// 1, so that some slices pass the clip and others are rescaled; the first slice's values are
// scaled by 1e-4 so that the eps floor, not clip·‖p‖, sets its bound.
func randomParam(tb testing.TB, rng *rand.Rand, name string, shape, normDims []int, scale float32, decay bool) (*Param, [][]float64) {
	tb.Helper()
	l, err := newNormLayout(shape, normDims)
	if err != nil {
		tb.Fatal(err)
	}
	sliceOf := make([]int, l.numel)
	for r, base := range l.runs {
		for j := 0; j < l.inner; j++ {
			sliceOf[r*l.inner+j] = base + j*l.innerStep
		}
	}
	p := &Param{Name: name, Shape: shape, NormDims: normDims, Scale: scale, Decay: decay,
		Value: make([]float32, l.numel), Grad: make([]float32, l.numel)}
	for i := range p.Value {
		p.Value[i] = float32(rng.NormFloat64())
		if sliceOf[i] == 0 && l.slices > 1 {
			p.Value[i] *= 1e-4
		}
	}
	grads := make([][]float64, 3)
	for s := range grads {
		grads[s] = make([]float64, l.numel)
		for i := range grads[s] {
			g := float32(rng.NormFloat64())
			if (sliceOf[i]+s)%2 == 1 {
				g *= 1e-5
			}
			grads[s][i] = float64(g)
		}
	}
	return p, grads
}

func TestSgdClipMatchesReference(t *testing.T) {
	configs := []struct {
		name string
		cfg  SgdClipConfig
	}{
		{"nesterov", SgdClipConfig{LR: 0.5, Momentum: 0.9, Nesterov: true, WeightDecay: 0.05, Clip: 0.01, Eps: 0.001}},
		{"heavy ball", SgdClipConfig{LR: 0.5, Momentum: 0.9, WeightDecay: 0.05, Clip: 0.01, Eps: 0.001}},
		{"no momentum", SgdClipConfig{LR: 0.5, WeightDecay: 0.05, Clip: 0.01, Eps: 0.001}},
		{"no clipping", SgdClipConfig{LR: 0.5, Momentum: 0.9, Nesterov: true, WeightDecay: 0.05, Clip: math.Inf(1), Eps: 0.001}},
	}
	for ci, c := range configs {
		var st clipStats
		for li, lay := range layouts() {
			t.Run(c.name+"/"+lay.name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(ci), uint64(li)))
				opt, err := NewSgdClip(c.cfg)
				if err != nil {
					t.Fatal(err)
				}
				p, grads := randomParam(t, rng, "w", lay.shape, lay.normDims, lay.scale, lay.decay)
				ref := &refState{v: f64s(p.Value), buf: make([]float64, len(p.Value)), first: true}
				for step, g := range grads {
					for i := range g {
						p.Grad[i] = float32(g[i])
					}
					p.HasGrad = true
					lr := c.cfg.LR * float64(step+1) / 3 // a schedule-like changing rate
					if err := opt.Step([]*Param{p}, lr); err != nil {
						t.Fatal(err)
					}
					refStep(c.cfg, p, g, ref, lr, &st)
					assertClose(t, fmt.Sprintf("step %d value", step), p.Value, ref.v)
					if c.cfg.Momentum > 0 {
						assertClose(t, fmt.Sprintf("step %d momentum", step), opt.State()["w"], ref.buf)
					}
					if p.HasGrad || slices.ContainsFunc(p.Grad, func(v float32) bool { return v != 0 }) {
						t.Fatalf("step %d: gradient not cleared", step)
					}
				}
			})
		}
		if !math.IsInf(c.cfg.Clip, 1) && (st.passed == 0 || st.clipped == 0 || st.floored == 0) {
			t.Errorf("%s: clipping regimes met %+v, want every one at least once", c.name, st)
		}
	}
}

func f64s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func assertClose(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); d > refTol*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %.9g, reference %.9g", what, i, got[i], want[i])
		}
	}
}

// TestSgdClipClipping checks MODEL.md 12.5 item 14 on a [3, 4] weight with per-row norms.
// Heavy-ball momentum makes the first buffer equal the clipped gradient exactly
// (μ·0 + d = d), so State exposes d.
func TestSgdClipClipping(t *testing.T) {
	cfg := SgdClipConfig{LR: 1, Momentum: 0.5, Clip: 0.01, Eps: 0.001}
	opt, err := NewSgdClip(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &Param{Name: "w", Shape: []int{3, 4}, NormDims: []int{1}, Scale: 2, HasGrad: true,
		Value: []float32{
			3, 4, 0, 0, // ‖p‖ = 5: bound max(0.05, 0.001·sqrt(12)) = 0.05
			3, 4, 0, 0, // same bound
			0, 0, 0, 0, // ‖p‖ = 0: the floor 0.001·sqrt(12) of the whole tensor
		},
		Grad: []float32{
			0.003, 0.004, 0, 0, // scaled ‖d‖ = 0.01 < 0.05: passes unchanged
			3, 0, 0, 4, // scaled ‖d‖ = 10: rescaled to norm 0.05
			1, 1, 1, 1, // scaled ‖d‖ = 4: rescaled to the floor
		},
	}
	if err := opt.Step([]*Param{p}, cfg.LR); err != nil {
		t.Fatal(err)
	}
	d := opt.State()["w"]
	if want := []float32{0.006, 0.008, 0, 0}; !slices.Equal(d[:4], want) {
		t.Errorf("small gradient: d = %v, want the scaled gradient %v unchanged", d[:4], want)
	}
	floor := 0.001 * math.Sqrt(12)
	for _, row := range []struct {
		name string
		at   int
		norm float64
		dir  []float64
	}{
		{"large gradient", 4, 0.05, []float64{0.6, 0, 0, 0.8}},
		{"floor", 8, floor, []float64{0.5, 0.5, 0.5, 0.5}},
	} {
		for j, u := range row.dir {
			// float32 holds the result: 1e-6 relative is about 8 ulps.
			want := row.norm * u
			if got := float64(d[row.at+j]); math.Abs(got-want) > 1e-6*want+1e-12 {
				t.Errorf("%s: d[%d] = %.9g, want %.9g (norm %.6g along the gradient)", row.name, j, got, want, row.norm)
			}
		}
	}
}

// TestSgdClipDecayOutsideMomentum runs the same gradients with and without weight decay. With
// clipping off, d does not depend on p, so the momentum buffers must be bit-identical while
// the values differ: decay never enters the buffer (MODEL.md 7.4 step 4).
func TestSgdClipDecayOutsideMomentum(t *testing.T) {
	run := func(decay float64) ([]float32, []float32) {
		opt, err := NewSgdClip(SgdClipConfig{LR: 0.5, Momentum: 0.9, Nesterov: true, WeightDecay: decay, Clip: math.Inf(1), Eps: 0.001})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 3))
		p, grads := randomParam(t, rng, "w", []int{4, 5}, []int{1}, 1, true)
		for _, g := range grads {
			for i := range g {
				p.Grad[i] = float32(g[i])
			}
			p.HasGrad = true
			if err := opt.Step([]*Param{p}, 0.5); err != nil {
				t.Fatal(err)
			}
		}
		return p.Value, opt.State()["w"]
	}
	v0, m0 := run(0)
	v1, m1 := run(0.05)
	if !slices.Equal(m0, m1) {
		t.Error("momentum buffers differ with weight decay: decay entered the buffer")
	}
	if slices.Equal(v0, v1) {
		t.Error("values equal with and without weight decay: decay not applied")
	}
}

// TestSgdClipSkip checks that a parameter without a gradient keeps its value, gradient buffer
// and momentum (MODEL.md 7.4, 12.5 item 14), even with weight decay on.
func TestSgdClipSkip(t *testing.T) {
	opt, err := NewSgdClip(DefaultSgdClipConfig())
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(4, 4))
	a, ga := randomParam(t, rng, "a", []int{3, 4}, []int{1}, 1, true)
	b, gb := randomParam(t, rng, "b", []int{3, 4}, []int{1}, 1, true)
	for i := range a.Grad {
		a.Grad[i], b.Grad[i] = float32(ga[0][i]), float32(gb[0][i])
	}
	a.HasGrad, b.HasGrad = true, true
	if err := opt.Step([]*Param{a, b}, 0.1); err != nil {
		t.Fatal(err)
	}
	mb := opt.State()["b"]
	vb := slices.Clone(b.Value)

	// Step 2: b has no gradient; its buffer holds a stale gradient that must not be used.
	for i := range a.Grad {
		a.Grad[i], b.Grad[i] = float32(ga[1][i]), float32(gb[1][i])
	}
	gbStale := slices.Clone(b.Grad)
	a.HasGrad, b.HasGrad = true, false
	va := slices.Clone(a.Value)
	if err := opt.Step([]*Param{a, b}, 0.1); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b.Value, vb) || !slices.Equal(opt.State()["b"], mb) || !slices.Equal(b.Grad, gbStale) {
		t.Error("parameter without a gradient was changed")
	}
	if slices.Equal(a.Value, va) {
		t.Error("parameter with a gradient was not updated")
	}
	if _, ok := opt.State()["c"]; ok {
		t.Error("state for a parameter never seen")
	}
}

// TestSgdClipStateRoundTrip resumes from exported state and must continue bit-identically.
func TestSgdClipStateRoundTrip(t *testing.T) {
	cfg := DefaultSgdClipConfig()
	rng := rand.New(rand.NewPCG(5, 5))
	p, grads := randomParam(t, rng, "w", []int{4, 3, 3}, []int{1, 2}, 1, true)
	q := &Param{Name: p.Name, Shape: p.Shape, NormDims: p.NormDims, Scale: p.Scale, Decay: p.Decay,
		Grad: make([]float32, len(p.Grad))}
	setGrad := func(x *Param, g []float64) {
		for i := range g {
			x.Grad[i] = float32(g[i])
		}
		x.HasGrad = true
	}
	a, _ := NewSgdClip(cfg)
	for _, g := range grads[:2] {
		setGrad(p, g)
		if err := a.Step([]*Param{p}, 0.1); err != nil {
			t.Fatal(err)
		}
	}
	saved := a.State()
	q.Value = slices.Clone(p.Value)
	b, _ := NewSgdClip(cfg)
	if err := b.SetState(saved); err != nil {
		t.Fatal(err)
	}
	saved["w"][0] += 1 // SetState must have copied
	setGrad(p, grads[2])
	setGrad(q, grads[2])
	if err := a.Step([]*Param{p}, 0.1); err != nil {
		t.Fatal(err)
	}
	if err := b.Step([]*Param{q}, 0.1); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Value, q.Value) || !slices.Equal(a.State()["w"], b.State()["w"]) {
		t.Error("resumed optimizer diverged from the original")
	}
}

func TestSgdClipErrors(t *testing.T) {
	good := func() *Param {
		return &Param{Name: "g", Shape: []int{2, 2}, Scale: 1, HasGrad: true,
			Value: []float32{1, 2, 3, 4}, Grad: []float32{1, 1, 1, 1}}
	}
	cases := []struct {
		name  string
		bad   func(p *Param)
		state map[string][]float32
		lr    float64
		want  error // nil: ErrParam
	}{
		{"short values", func(p *Param) { p.Value = p.Value[:3] }, nil, 0.1, nil},
		{"short gradient", func(p *Param) { p.Grad = p.Grad[:3] }, nil, 0.1, nil},
		{"norm axis out of range", func(p *Param) { p.NormDims = []int{2} }, nil, 0.1, nil},
		{"norm axis twice", func(p *Param) { p.NormDims = []int{1, 1} }, nil, 0.1, nil},
		{"zero size", func(p *Param) { p.Shape = []int{0, 2} }, nil, 0.1, nil},
		{"zero scale", func(p *Param) { p.Scale = 0 }, nil, 0.1, nil},
		{"no name", func(p *Param) { p.Name = "" }, nil, 0.1, nil},
		{"duplicate name", func(p *Param) { p.Name = "g" }, nil, 0.1, nil},
		{"momentum size", func(p *Param) {}, map[string][]float32{"x": {0, 0}}, 0.1, nil},
		{"nan rate", func(p *Param) {}, nil, math.NaN(), nil},
		{"negative rate", func(p *Param) {}, nil, -1, nil},
		{"nan gradient", func(p *Param) { p.Grad[2] = float32(math.NaN()) }, nil, 0.1, ErrNonFinite},
		{"infinite gradient", func(p *Param) { p.Grad[0] = float32(math.Inf(-1)) }, nil, 0.1, ErrNonFinite},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opt, _ := NewSgdClip(DefaultSgdClipConfig())
			if c.state != nil {
				if err := opt.SetState(c.state); err != nil {
					t.Fatal(err)
				}
			}
			g := good()
			bad := good()
			bad.Name = "x"
			c.bad(bad)
			before := slices.Clone(g.Value)
			err := opt.Step([]*Param{g, bad}, c.lr)
			if err == nil {
				t.Fatal("Step succeeded, want an error")
			}
			want := c.want
			if want == nil {
				want = ErrParam
			}
			if !math.IsNaN(c.lr) && c.lr >= 0 && !errors.Is(err, want) {
				t.Errorf("err = %v, want %v", err, want)
			}
			if !slices.Equal(g.Value, before) || !g.HasGrad {
				t.Error("a valid parameter was updated before the error was found")
			}
		})
	}
}

func TestSgdClipConfigValidate(t *testing.T) {
	if err := DefaultSgdClipConfig().Validate(); err != nil {
		t.Fatalf("released config: %v", err)
	}
	inf := math.Inf(1)
	cases := []struct {
		name string
		edit func(c *SgdClipConfig)
		ok   bool
	}{
		{"clip disabled", func(c *SgdClipConfig) { c.Clip = inf }, true},
		{"heavy ball", func(c *SgdClipConfig) { c.Nesterov = false }, true},
		{"zero lr", func(c *SgdClipConfig) { c.LR = 0 }, false},
		{"infinite lr", func(c *SgdClipConfig) { c.LR = inf }, false},
		{"momentum 1", func(c *SgdClipConfig) { c.Momentum = 1 }, false},
		{"negative momentum", func(c *SgdClipConfig) { c.Momentum = -0.1 }, false},
		{"nesterov without momentum", func(c *SgdClipConfig) { c.Momentum = 0 }, false},
		{"negative decay", func(c *SgdClipConfig) { c.WeightDecay = -1e-4 }, false},
		{"zero clip", func(c *SgdClipConfig) { c.Clip = 0 }, false},
		{"nan clip", func(c *SgdClipConfig) { c.Clip = math.NaN() }, false},
		{"zero eps", func(c *SgdClipConfig) { c.Eps = 0 }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultSgdClipConfig()
			c.edit(&cfg)
			if err := cfg.Validate(); (err == nil) != c.ok {
				t.Errorf("Validate(%+v) = %v, want ok=%v", cfg, err, c.ok)
			}
			if _, err := NewSgdClip(cfg); (err == nil) != c.ok {
				t.Errorf("NewSgdClip = %v, want ok=%v", err, c.ok)
			}
		})
	}
}

// TestNormLayout checks slice counts and the run map of the layouts of MODEL.md 1.6.
func TestNormLayout(t *testing.T) {
	cases := []struct {
		shape, normDims []int
		slices, inner   int
		innerStep       int
		runs            []int
	}{
		{[]int{6, 9}, []int{1}, 6, 9, 0, []int{0, 1, 2, 3, 4, 5}},
		{[]int{2, 3}, nil, 1, 6, 0, []int{0}},
		{[]int{2, 3, 4}, []int{0}, 12, 12, 1, []int{0, 0}},
		{[]int{2, 2, 2, 3}, []int{1, 3}, 4, 3, 0, []int{0, 1, 0, 1, 2, 3, 2, 3}},
		{[]int{3, 1, 2}, []int{2}, 3, 2, 0, []int{0, 1, 2}}, // the size-1 axis is dropped
		{[]int{1}, nil, 1, 1, 0, []int{0}},
		{nil, nil, 1, 1, 0, []int{0}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.shape, c.normDims), func(t *testing.T) {
			l, err := newNormLayout(c.shape, c.normDims)
			if err != nil {
				t.Fatal(err)
			}
			if l.slices != c.slices || l.inner != c.inner || l.innerStep != c.innerStep || !slices.Equal(l.runs, c.runs) {
				t.Errorf("layout = {slices %d inner %d step %d runs %v}, want {%d %d %d %v}",
					l.slices, l.inner, l.innerStep, l.runs, c.slices, c.inner, c.innerStep, c.runs)
			}
		})
	}
}

// TestSgdClipNoAllocs checks that a step on known parameters allocates nothing.
func TestSgdClipNoAllocs(t *testing.T) {
	opt, _ := NewSgdClip(DefaultSgdClipConfig())
	rng := rand.New(rand.NewPCG(6, 6))
	var params []*Param
	for i, lay := range layouts() {
		p, _ := randomParam(t, rng, fmt.Sprint(i), lay.shape, lay.normDims, lay.scale, lay.decay)
		params = append(params, p)
	}
	step := func() {
		for _, p := range params {
			p.HasGrad = true
		}
		if err := opt.Step(params, 0.1); err != nil {
			t.Fatal(err)
		}
	}
	step()
	if n := testing.AllocsPerRun(10, step); n != 0 {
		t.Errorf("Step allocates %v times per call after the first", n)
	}
}

// BenchmarkSgdClipStep steps one conv weight [O, I, T, kH, kW] with per-filter norms.
func BenchmarkSgdClipStep(b *testing.B) {
	for _, o := range []int{32, 128} {
		shape := []int{o, o, 1, 3, 3}
		b.Run(fmt.Sprint(shape), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(7, 7))
			p, _ := randomParam(b, rng, "w", shape, []int{1, 2, 3, 4}, 1, true)
			opt, _ := NewSgdClip(DefaultSgdClipConfig())
			b.SetBytes(int64(4 * len(p.Value)))
			for b.Loop() {
				p.HasGrad = true
				if err := opt.Step([]*Param{p}, 0.1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
