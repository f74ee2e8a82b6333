package mouse

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

func TestExplore(t *testing.T) {
	t0 := time.Now()
	b, err := NewBank(BankSpec{Width: 64, Height: 36})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("NewBank %v", time.Since(t0))
	for _, s := range b.scales {
		t.Logf("scale sf %g period %.2f sigma %.2f step %d grid %dx%d R %d dc %v", s.sf, s.periodPx, s.sigmaPx, s.g.step, s.g.nx, s.g.ny, s.radius, s.dc[:2])
	}
	for _, tc := range b.tfs {
		t.Logf("tf %g a %.3f teScale %.3f tePeak %.2f", tc.hz, tc.a, tc.teScale, tc.tePeakHz)
	}
	t0 = time.Now()
	m, err := NewMouse(b, MouseSpec{ID: "m", Units: 1000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("NewMouse %v", time.Since(t0))
	// pool and drive magnitude on calib
	feat := b.calib
	in := m.newInputs(feat, m.RestBehavior(feat.t))
	buf := make([]float64, feat.t)
	var ds []float64
	for i := range 20 {
		u := &m.units[i*50]
		m.series(u, feat, in, buf)
		mu := 0.0
		for _, v := range buf {
			mu += v
		}
		ds = append(ds, mu/float64(len(buf)))
	}
	t.Logf("mean d^p samples %v", ds)
	ps := append([]float32(nil), feat.pool...)
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	t.Logf("pool energy quantiles %g %g %g -> amp %g", ps[len(ps)/10], ps[len(ps)/2], ps[9*len(ps)/10], math.Sqrt(float64(ps[len(ps)/2])))
	tr := m.Truth()
	t.Logf("gain quantiles %v", quant(tr.Gain))
	t.Logf("kappa quantiles %v", quant(tr.CountScale))
	rng := rand.New(rand.NewPCG(1, 2))
	rate, obs, err := m.Respond(feat, m.RestBehavior(feat.t), rng)
	if err != nil {
		t.Fatal(err)
	}
	U := 1000
	var means []float32
	for u := range U {
		s := 0.0
		for tt := range feat.t {
			s += float64(rate[tt*U+u])
		}
		means = append(means, float32(s/float64(feat.t)))
	}
	t.Logf("rate means %v", quant(means))
	_ = obs
}

func quant(x []float32) []float32 {
	var y []float32
	for _, v := range x {
		if v == v {
			y = append(y, v)
		}
	}
	sort.Slice(y, func(i, j int) bool { return y[i] < y[j] })
	n := len(y)
	return []float32{y[0], y[n/10], y[n/2], y[9*n/10], y[n-1]}
}

func TestExplore2(t *testing.T) {
	b, _ := NewBank(BankSpec{Width: 64, Height: 36})
	m, _ := NewMouse(b, MouseSpec{ID: "m", Units: 1000, Seed: 1})
	feat := b.calib
	rng := rand.New(rand.NewPCG(1, 2))
	rate, _, _ := m.Respond(feat, m.RestBehavior(feat.t), rng)
	U := 1000
	var ratio, early []float32
	for u := range U {
		s, e := 0.0, 0.0
		for tt := range feat.t {
			if tt >= calibBurnIn {
				s += float64(rate[tt*U+u])
			} else {
				e += float64(rate[tt*U+u])
			}
		}
		mean := s / float64(feat.t-calibBurnIn)
		target := m.units[u].base / 1 // placeholder
		_ = target
		ratio = append(ratio, float32(mean))
		early = append(early, float32(e/float64(calibBurnIn)/mean))
	}
	t.Logf("post-burn means %v", quant(ratio))
	t.Logf("early/late %v", quant(early))
	// by class
	tr := m.Truth()
	for _, c := range []Class{ClassSimple, ClassComplex, ClassDS} {
		var g []float32
		for u := range U {
			if tr.Class[u] == c {
				g = append(g, tr.Gain[u])
			}
		}
		t.Logf("%s n=%d gain %v", c, len(g), quant(g))
	}
}
