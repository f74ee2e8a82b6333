package stimulus

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

func TestFFTPlanMatchesNaiveDFT(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 4, 8, 64} {
		a := make([]complex128, n)
		for i := range a {
			a[i] = complex(rng.NormFloat64(), rng.NormFloat64())
		}
		want := make([]complex128, n)
		for x := range n {
			for k := range n {
				want[x] += a[k] * cmplx.Exp(complex(0, 2*math.Pi*float64(k*x)/float64(n)))
			}
		}
		newFFTPlan(n).inverse(a)
		for i := range a {
			// Round-off of an O(n log n) sum of unit-variance terms stays far below 1e-9.
			if cmplx.Abs(a[i]-want[i]) > 1e-9 {
				t.Fatalf("n=%d index %d: got %v, want %v", n, i, a[i], want[i])
			}
		}
	}
}

func TestTextureStatistics(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 128
	tex := newTexture(rng, n, pinkFilter(1))
	var s, s2 float64
	for _, v := range tex.pix {
		s += float64(v)
		s2 += float64(v) * float64(v)
	}
	// Normalised in float64, stored in float32: 1e-5 is float32 rounding summed over 16k pixels.
	if m, sd := s/n/n, math.Sqrt(s2/n/n); math.Abs(m) > 1e-5 || math.Abs(sd-1) > 1e-5 {
		t.Errorf("texture mean %g std %g, want 0 and 1", m, sd)
	}
	// Periodic sampling: a whole-texel coordinate returns the texel, and shifting by n wraps.
	if got := tex.sample(5, 7); got != tex.pix[7*n+5] {
		t.Errorf("sample(5, 7) = %g, texel %g", got, tex.pix[7*n+5])
	}
	if a, b := tex.sample(3.25, 9.5), tex.sample(3.25-n, 9.5+2*n); math.Abs(float64(a-b)) > 1e-6 {
		t.Errorf("sample does not wrap: %g vs %g", a, b)
	}
	// The amplitude spectrum follows the filter: slope −1 in log-log. One 128² realisation
	// has Rayleigh-distributed amplitudes, averaged over ~1000 coefficients per bin, so the
	// fitted slope scatters by a few hundredths; 0.1 is a safe bound.
	frame := make([]uint8, n*n)
	for i, v := range tex.pix {
		frame[i] = uint8(math.Round(128 + 30*float64(v)))
	}
	if slope := spectralSlope([][]uint8{frame}, n, n, 4.0/n, 0.25); math.Abs(slope+1) > 0.1 {
		t.Errorf("texture amplitude spectrum slope %.3f, want −1", slope)
	}
}
