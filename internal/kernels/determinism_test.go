package kernels

import (
	"math"
	"testing"
)

// TestGradientsAreReproducible: the kernels that add per-worker partial sums (convolution
// weight gradients, attention scale gradients) return bit-identical results on every call
// with the same inputs and number of workers, as the training pipeline's determinism needs
// (the same seed, data and config give the same numbers). With tasks handed out dynamically
// the partials held different tasks from call to call and the last bits varied. 4 workers on
// 2 cores make the hand-out vary; 20 calls each.
func TestGradientsAreReproducible(t *testing.T) {
	ws := NewWorkspace(4)
	rng := newRand(5)
	same := func(name string, a, b []float32) {
		t.Helper()
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s: element %d is %v on one call and %v on another", name, i, a[i], b[i])
			}
		}
	}
	for _, p := range []Conv3d{
		{N: 8, C: 8, O: 8, G: 2, T: 6, H: 16, W: 24, KT: 3, KH: 3, KW: 3, PadH: 1, PadW: 1},
		{N: 8, C: 4, O: 16, G: 1, T: 4, H: 32, W: 48, KT: 1, KH: 6, KW: 6, StrideH: 2, StrideW: 2, PadH: 2, PadW: 2, Pad: PadReplicate},
	} {
		xl, wl, yl := p.Lens()
		x, dy := randSlice[float32](rng, xl), randSlice[float32](rng, yl)
		first, dw, db := make([]float32, wl), make([]float32, wl), make([]float32, p.O)
		for call := range 20 {
			if err := Conv3dBackwardWeights(p, ws, x, dy, dw, db); err != nil {
				t.Fatal(err)
			}
			if call == 0 {
				copy(first, dw)
			}
			same("conv3d dw", first, dw)
		}
	}
	a := Attention{N: 8, G: 4, C: 16, L: 24}
	n := a.N * a.G * a.C * a.L
	q, k, v, dout := randSlice[float32](rng, n), randSlice[float32](rng, n), randSlice[float32](rng, n), randSlice[float32](rng, n)
	s := randSlice[float32](rng, a.G*a.C)
	dq, dk, dv, ds, first := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, len(s)), make([]float32, len(s))
	for call := range 20 {
		if err := AttentionBackward(a, ws, q, k, v, s, dout, dq, dk, dv, ds); err != nil {
			t.Fatal(err)
		}
		if call == 0 {
			copy(first, ds)
		}
		same("attention dscales", first, ds)
	}
}
