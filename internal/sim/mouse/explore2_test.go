package mouse

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/fmcore/fmcore/internal/sim/stimulus"
)

func TestExploreNatural(t *testing.T) {
	b, _ := NewBank(BankSpec{Width: 64, Height: 36})
	m, _ := NewMouse(b, MouseSpec{ID: "m", Units: 1000, Seed: 1})
	for _, k := range []stimulus.Kind{stimulus.KindNatural, stimulus.KindNoise, stimulus.KindGabor, stimulus.KindDots} {
		sp := stimulus.DefaultSpec()
		c, err := stimulus.Generate(k, sp, 3)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		feat, err := b.Features(c.Frames, c.T, nil)
		if err != nil {
			t.Fatal(err)
		}
		tf := time.Since(t0)
		t0 = time.Now()
		rate, _, _ := m.Respond(feat, m.RestBehavior(c.T), rand.New(rand.NewPCG(1, 1)))
		tr := time.Since(t0)
		U := 1000
		var means []float32
		for u := range U {
			s := 0.0
			for tt := 10; tt < c.T; tt++ {
				s += float64(rate[tt*U+u])
			}
			means = append(means, float32(s/float64(c.T-10)))
		}
		// cc_max
		var ccs []float32
		R := 10
		reps := make([][]float32, R)
		for r := range R {
			_, obs, _ := m.Respond(feat, m.RestBehavior(c.T), rand.New(rand.NewPCG(uint64(r), 9)))
			reps[r] = obs
		}
		for u := range U {
			x := make([][]float64, R)
			for r := range R {
				x[r] = make([]float64, c.T-10)
				for tt := 10; tt < c.T; tt++ {
					x[r][tt-10] = float64(reps[r][tt*U+u])
				}
			}
			ccs = append(ccs, float32(ccMax(x)))
		}
		t.Logf("%s: features %v respond %v; means %v; ccmax %v", k, tf, tr, quant(means), quant(ccs))
	}
}
