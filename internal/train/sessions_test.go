package train

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestStepSessions checks the sessions a step trains: all of them in order when
// SessionsPerStep is 0 or at least their number, otherwise that many distinct sessions,
// each drawn as often as the others.
func TestStepSessions(t *testing.T) {
	const sessions, draws = 5, 5000
	for _, k := range []int{0, 5, 7} {
		tr := &Trainer{cfg: Config{SessionsPerStep: k}, order: []int{0, 1, 2, 3, 4}}
		if got := tr.stepSessions(rand.New(rand.NewPCG(1, 2))); !slices.Equal(got, []int{0, 1, 2, 3, 4}) {
			t.Errorf("sessions_per_step %d: step trains %v, want every session in order", k, got)
		}
	}
	tr := &Trainer{cfg: Config{SessionsPerStep: 2}, order: []int{0, 1, 2, 3, 4}}
	rng := rand.New(rand.NewPCG(1, 2))
	count := make([]int, sessions)
	for range draws {
		got := tr.stepSessions(rng)
		if len(got) != 2 || got[0] == got[1] {
			t.Fatalf("sessions_per_step 2: step trains %v, want two distinct sessions", got)
		}
		for _, i := range got {
			count[i]++
		}
	}
	// Each session is drawn with probability 2/5: 2,000 ± 35 (one SD) times in 5,000
	// steps; 5 SD of margin keeps the test from failing by chance.
	sd := math.Sqrt(draws * 0.4 * 0.6)
	for i, c := range count {
		if math.Abs(float64(c)-draws*0.4) > 5*sd {
			t.Errorf("session %d drawn %d times in %d steps, want %.0f ± %.0f", i, c, draws, draws*0.4, 5*sd)
		}
	}
}
