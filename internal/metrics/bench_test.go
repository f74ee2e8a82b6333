package metrics

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchSizes returns the population sizes the benchmarks run at: a small scan and a
// MICrONS-sized one (8,509 units, MODEL.md 7.8).
func benchSizes() []int { return []int{1000, 8509} }

func randomTrial(rng *rand.Rand, frames, units int) []float32 {
	out := make([]float32, frames*units)
	for i := range out {
		out[i] = float32(rng.NormFloat64())
	}
	return out
}

// BenchmarkOracleScores scores the reference's oracle set: 6 clips × 10 repeats of 300 frames.
func BenchmarkOracleScores(b *testing.B) {
	for _, units := range benchSizes() {
		b.Run(fmt.Sprintf("U=%d", units), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			o, err := NewOracle(units, DefaultBurnin)
			if err != nil {
				b.Fatal(err)
			}
			x := randomTrial(rng, 300, units)
			p := randomTrial(rng, 300, units)
			for c := range 6 {
				for range 10 {
					if err := o.Add(fmt.Sprint(c), p, x, 300); err != nil {
						b.Fatal(err)
					}
				}
			}
			for b.Loop() {
				if _, err := o.Scores(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSingleTrialAdd adds one SENSORIUM trial of 300 frames.
func BenchmarkSingleTrialAdd(b *testing.B) {
	for _, units := range benchSizes() {
		b.Run(fmt.Sprintf("N=%d", units), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(2, 2))
			acc, err := NewSingleTrialCorrelation(units, SensoriumSkipFrames)
			if err != nil {
				b.Fatal(err)
			}
			x := randomTrial(rng, 300, units)
			p := randomTrial(rng, 300, units)
			for b.Loop() {
				if err := acc.Add(p, x, 300); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
