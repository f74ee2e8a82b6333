package kernels

import (
	"math"
	"testing"
)

func BenchmarkExpMicro(b *testing.B) {
	x := scaled(randSlice(newRand(1), 4096), 3)
	y := make([]float32, 4096)
	b.Run("expf", func(b *testing.B) {
		for b.Loop() {
			for i, v := range x {
				y[i] = expf(v)
			}
		}
	})
	b.Run("math.Exp", func(b *testing.B) {
		for b.Loop() {
			for i, v := range x {
				y[i] = float32(math.Exp(float64(v)))
			}
		}
	})
	b.Run("normCDF", func(b *testing.B) {
		for b.Loop() {
			for i, v := range x {
				y[i] = float32(normCDF(float64(v)))
			}
		}
	})
	b.Run("math.Erf", func(b *testing.B) {
		for b.Loop() {
			for i, v := range x {
				y[i] = float32(math.Erf(float64(v)))
			}
		}
	})
	b.Run("sigmoidf", func(b *testing.B) {
		for b.Loop() {
			for i, v := range x {
				y[i] = float32(sigmoidf(v))
			}
		}
	})
	b.Run("tanhf", func(b *testing.B) {
		for b.Loop() {
			for i, v := range x {
				y[i] = float32(tanhf(float64(v)))
			}
		}
	})
	b.Run("math.Tanh", func(b *testing.B) {
		for b.Loop() {
			for i, v := range x {
				y[i] = float32(math.Tanh(float64(v)))
			}
		}
	})
}
