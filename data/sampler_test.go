package data

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestSamplerUniform draws many windows and checks with a chi-square statistic that
// every (trial, start) pair is equally likely within its trial and every trial equally
// likely: P(trial k, start s) = 1/K · 1/(frames_k − T + 1). The last start of each
// trial must occur (fmcore includes the last window; the reference does not).
func TestSamplerUniform(t *testing.T) {
	const T = 3
	rec := &Recording{Trials: []TrialInfo{{ID: "a", Frames: 5}, {ID: "b", Frames: 7}, {ID: "c", Frames: 3}, {ID: "d", Frames: 10}}}
	smp := newSampler(rec, []int{0, 1, 2, 3}, T)
	const draws = 120_000
	counts := map[[2]int]int{}
	rng := EpochRand(11, 0, SessionID{Mouse: "1", Session: "1"})
	for range draws {
		i, s := smp.draw(rng)
		if s < 0 || s > rec.Trials[i].Frames-T {
			t.Fatalf("trial %d: start %d outside [0, %d]", i, s, rec.Trials[i].Frames-T)
		}
		counts[[2]int{i, s}]++
	}
	chi2, cells := 0.0, 0
	for i, tr := range rec.Trials {
		starts := tr.Frames - T + 1
		for s := range starts {
			exp := float64(draws) / float64(len(rec.Trials)) / float64(starts)
			d := float64(counts[[2]int{i, s}]) - exp
			chi2 += d * d / exp
			cells++
		}
		if counts[[2]int{i, starts - 1}] == 0 {
			t.Errorf("trial %s: its last window (start %d) was never drawn", tr.ID, starts-1)
		}
	}
	// 3 + 5 + 1 + 8 = 17 cells, 16 degrees of freedom: the 0.999 quantile of χ²(16) is
	// 39.25 (scipy.stats.chi2.ppf(0.999, 16)). The seed is fixed, so this either always
	// passes or flags a real bias; a biased sampler (e.g. starts in [0, frames−T)) gives
	// chi² in the thousands.
	if chi2 > 39.25 {
		t.Errorf("chi² = %.1f over %d cells, want ≤ 39.25 (p = 0.001)", chi2, cells)
	}
}

func TestEpochSeed(t *testing.T) {
	// MODEL.md 7.6 with rank 0, world size 1: seed + epoch (epoch counted over cycles).
	for _, c := range []struct {
		seed  uint64
		epoch int
		want  uint64
	}{{0, 0, 0}, {0, 7, 7}, {42, 100 + 5, 147}} {
		if got := EpochSeed(c.seed, c.epoch); got != c.want {
			t.Errorf("EpochSeed(%d, %d) = %d, want %d", c.seed, c.epoch, got, c.want)
		}
	}
	a, b := SessionID{Mouse: "1", Session: "1"}, SessionID{Mouse: "2", Session: "1"}
	if EpochRand(1, 2, a).Uint64() != EpochRand(1, 2, a).Uint64() {
		t.Error("EpochRand is not deterministic")
	}
	if EpochRand(1, 2, a).Uint64() == EpochRand(1, 2, b).Uint64() {
		t.Error("two sessions draw the same stream")
	}
	if EpochRand(1, 2, a).Uint64() == EpochRand(1, 3, a).Uint64() {
		t.Error("two epochs draw the same stream")
	}
}

func TestPlan(t *testing.T) {
	rec := &Recording{Trials: []TrialInfo{{ID: "a", Frames: 7}, {ID: "b", Frames: 3}, {ID: "c", Frames: 5}, {ID: "d", Frames: 5}, {ID: "e", Frames: 5}, {ID: "f", Frames: 3}}}
	all := []int{0, 1, 2, 3, 4, 5}
	for _, c := range []struct {
		name   string
		seq    Sequence
		trials []int
		N, T   int
		want   []string // per batch: "T:id@start,…"
	}{
		{"windows", SequenceWindows, []int{0, 2, 3}, 2, 3, []string{"3:a@0,a@3", "3:c@0,d@0"}},
		{"windows of 1 frame", SequenceWindows, []int{1}, 2, 1, []string{"1:b@0,b@1", "1:b@2"}},
		{"trials grouped by length", SequenceTrials, all, 2, 0, []string{"7:a@0", "3:b@0", "5:c@0,d@0", "5:e@0", "3:f@0"}},
		{"trials one by one", SequenceTrials, all[:3], 1, 0, []string{"7:a@0", "3:b@0", "5:c@0"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &plan{rec: rec, trials: c.trials, seq: c.seq, T: c.T, N: c.N}
			var got []string
			b := new(Batch)
			b.reserve(c.N, 7, 1, 1)
			for p.next(b) {
				b.shape()
				var items []string
				for n := range b.N {
					items = append(items, fmt.Sprintf("%s@%d", b.Trials[n], b.Starts[n]))
					if rec.Trials[b.index[n]].ID != b.Trials[n] {
						t.Errorf("item %d: index %d names trial %s, id says %s", n, b.index[n], rec.Trials[b.index[n]].ID, b.Trials[n])
					}
				}
				got = append(got, fmt.Sprintf("%d:%s", b.T, strings.Join(items, ",")))
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("batches %v, want %v", got, c.want)
			}
		})
	}
}
