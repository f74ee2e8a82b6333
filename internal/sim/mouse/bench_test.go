package mouse

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchSizes are the frame sizes of the benchmarks: the small preset's and the paper's.
var benchSizes = []struct {
	w, h, units int
}{
	{64, 36, 1000},
	{256, 144, 8000},
}

// BenchmarkFeatures computes the features of a 10 s clip (300 frames at 30 Hz).
func BenchmarkFeatures(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(b *testing.B) {
			bank, err := NewBank(BankSpec{Width: sz.w, Height: sz.h})
			if err != nil {
				b.Fatal(err)
			}
			const T = 300
			frames := calibrationClip(bank.spec, T, 99)
			var f *Features
			b.ResetTimer()
			for b.Loop() {
				if f, err = bank.Features(frames, T, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRespond computes one mouse's responses (rate and one noisy trial) to a 10 s
// clip with behaviour.
func BenchmarkRespond(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(fmt.Sprintf("%dx%d_%dunits", sz.w, sz.h, sz.units), func(b *testing.B) {
			bank, err := NewBank(BankSpec{Width: sz.w, Height: sz.h})
			if err != nil {
				b.Fatal(err)
			}
			m, err := NewMouse(bank, MouseSpec{ID: "bench", Units: sz.units, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			const T = 300
			f, err := bank.Features(calibrationClip(bank.spec, T, 99), T, nil)
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			beh, err := m.Behavior(T, nil, rng)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, _, err := m.Respond(f, beh, rng); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
