package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestScratchWorkers(t *testing.T) {
	for _, p := range []Conv3d{
		{N: 1, C: 4, O: 4, G: 1, T: 3, H: 8, W: 8, KT: 3, KH: 3, KW: 3, PadH: 1, PadW: 1},
		{N: 1, C: 4, O: 4, G: 1, T: 3, H: 16, W: 16, KT: 3, KH: 3, KW: 3, PadH: 1, PadW: 1},
		{N: 1, C: 1, O: 4, G: 1, T: 3, H: 16, W: 16, KT: 1, KH: 6, KW: 6, StrideH: 2, StrideW: 2, PadH: 2, PadW: 2, Pad: PadReplicate},
		{N: 1, C: 1, O: 4, G: 1, T: 3, H: 32, W: 32, KT: 1, KH: 6, KW: 6, StrideH: 2, StrideW: 2, PadH: 2, PadW: 2, Pad: PadReplicate},
	} {
		rng := rand.New(rand.NewPCG(1, 2))
		xl, wl, yl := p.Lens()
		x, w, dy := make([]float64, xl), make([]float64, wl), make([]float64, yl)
		for _, v := range [][]float64{x, w, dy} {
			for i := range v {
				v[i] = rng.NormFloat64()
			}
		}
		var dws, dxs [][]float64
		for _, workers := range []int{1, 2, 3} {
			ws := NewWorkspace(workers)
			dw, dx := make([]float64, wl), make([]float64, xl)
			if err := Conv3dBackwardWeights(p, ws, x, dy, dw, nil); err != nil {
				t.Fatal(err)
			}
			if err := Conv3dBackwardData(p, ws, w, dy, dx); err != nil {
				t.Fatal(err)
			}
			dws, dxs = append(dws, dw), append(dxs, dx)
		}
		for k := 1; k < 3; k++ {
			md, mx := 0.0, 0.0
			for i := range dws[0] {
				md = math.Max(md, math.Abs(dws[k][i]-dws[0][i]))
			}
			for i := range dxs[0] {
				mx = math.Max(mx, math.Abs(dxs[k][i]-dxs[0][i]))
			}
			t.Logf("H=%d workers %d vs 1: dw diff %g, dx diff %g", p.H, k+1, md, mx)
		}
	}
}
