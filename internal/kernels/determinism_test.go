package kernels

import (
	"math"
	"testing"
)

// TestGradientsAreReproducible: the kernels that add per-worker partial sums (convolution
// weight gradients on each of their routes, attention scale gradients) return bit-identical
// results on every call with the same inputs and number of workers, as the training
// pipeline's determinism needs (the same seed, data and config give the same numbers). With
// tasks handed out dynamically the partials held different tasks from call to call and the
// last bits varied. 4 workers on 2 cores make the hand-out vary; 20 calls each.
func TestGradientsAreReproducible(t *testing.T) {
	ws := NewWorkspace(4)
	rng := newRand(5)
	// repeat calls call 20 times and checks that out is the same every time.
	repeat := func(name string, out []float32, call func() error) {
		t.Helper()
		first := make([]float32, len(out))
		for c := range 20 {
			if err := call(); err != nil {
				t.Fatal(err)
			}
			if c == 0 {
				copy(first, out)
			}
			for i := range out {
				if math.Float32bits(out[i]) != math.Float32bits(first[i]) {
					t.Fatalf("%s: element %d is %v on call %d and %v on call 0", name, i, out[i], c, first[i])
				}
			}
		}
	}
	for _, tc := range []struct {
		name  string
		p     Conv3d
		route route
	}{
		{"3x3x3 grouped", Conv3d{N: 8, C: 8, O: 8, G: 2, T: 6, H: 16, W: 24, KT: 3, KH: 3, KW: 3, PadH: 1, PadW: 1}, routeWide},
		{"6x6 stride 2", Conv3d{N: 8, C: 4, O: 16, G: 1, T: 4, H: 32, W: 48, KT: 1, KH: 6, KW: 6, StrideH: 2, StrideW: 2, PadH: 2, PadW: 2, Pad: PadReplicate}, routeStrided},
		{"1x1 grouped", Conv3d{N: 8, C: 32, O: 16, G: 4, T: 4, H: 8, W: 12, KT: 1, KH: 1, KW: 1}, routeDirect},
	} {
		pl, err := planConv[float32](tc.p, "test", ws)
		if err != nil {
			t.Fatal(err)
		}
		if pl.fwdRoute != tc.route {
			t.Fatalf("%s: route %d, want %d", tc.name, pl.fwdRoute, tc.route)
		}
		xl, wl, yl := tc.p.Lens()
		x, dy := randSlice[float32](rng, xl), randSlice[float32](rng, yl)
		dw, db := make([]float32, wl), make([]float32, tc.p.O)
		repeat("conv3d dw, "+tc.name, dw, func() error { return Conv3dBackwardWeights(tc.p, ws, x, dy, dw, db) })
	}
	a := Attention{N: 8, G: 4, C: 16, L: 24}
	n := a.N * a.G * a.C * a.L
	q, k, v, dout := randSlice[float32](rng, n), randSlice[float32](rng, n), randSlice[float32](rng, n), randSlice[float32](rng, n)
	s := randSlice[float32](rng, a.G*a.C)
	dq, dk, dv, ds := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, len(s))
	repeat("attention dscales", ds, func() error { return AttentionBackward(a, ws, q, k, v, s, dout, dq, dk, dv, ds) })
}
