package mouse

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/fmcore/fmcore/internal/sim/stimulus"
)

func TestExploreGroups(t *testing.T) {
	b, _ := NewBank(BankSpec{Width: 64, Height: 36})
	m, _ := NewMouse(b, MouseSpec{ID: "m", Units: 2000, Seed: 1})
	sp := stimulus.DefaultSpec()
	c, _ := stimulus.Generate(stimulus.KindNatural, sp, 3)
	feat, _ := b.Features(c.Frames, c.T, nil)
	rate, _, _ := m.Respond(feat, m.RestBehavior(c.T), rand.New(rand.NewPCG(1, 1)))
	U := len(m.units)
	groups := map[string][]float32{}
	for u := range U {
		s := 0.0
		for tt := 10; tt < c.T; tt++ {
			s += float64(rate[tt*U+u])
		}
		mean := float32(s / float64(c.T-10))
		un := m.units[u]
		groups[fmt.Sprintf("class %s", un.class)] = append(groups[fmt.Sprintf("class %s", un.class)], mean)
		groups[fmt.Sprintf("tf %d", un.tf)] = append(groups[fmt.Sprintf("tf %d", un.tf)], mean)
		groups[fmt.Sprintf("sf %d", un.scale)] = append(groups[fmt.Sprintf("sf %d", un.scale)], mean)
		groups[fmt.Sprintf("exp %d", int(un.exponent*2))] = append(groups[fmt.Sprintf("exp %d", int(un.exponent*2))], mean)
	}
	for k, v := range groups {
		t.Logf("%s n=%d %v", k, len(v), quant(v))
	}
}
