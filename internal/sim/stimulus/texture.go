package stimulus

import (
	"math"
	"math/rand/v2"
)

// texture is a square, periodic n×n grey-level field [n, n] (row-major, n a power of two), with
// zero mean and unit standard deviation. Periodicity lets renderers translate, rotate and zoom
// it without seams: sample wraps coordinates modulo n.
type texture struct {
	n    int
	mask int
	pix  []float32
}

// spectralFilter gives the amplitude gain at spatial frequency (fx, fy) in cycles/pixel, with
// fy pointing up the screen. It must satisfy filter(fx, fy) == filter(-fx, -fy) so that the
// filtered noise stays real.
type spectralFilter func(fx, fy float64) float64

// pinkFilter returns the 1/f^exponent amplitude spectrum of natural images (van der Schaaf &
// van Hateren 1996: exponent ≈ 1), zero at DC.
func pinkFilter(exponent float64) spectralFilter {
	return func(fx, fy float64) float64 {
		f := math.Hypot(fx, fy)
		if f == 0 {
			return 0
		}
		return math.Pow(f, -exponent)
	}
}

// newTexture returns an n×n texture of Gaussian noise with amplitude spectrum filter, normalised
// to zero mean and unit std; n must be a power of two. It draws independent complex Gaussian
// Fourier coefficients, scales them by filter and keeps the real part of the inverse
// transform: the real part of a circular complex Gaussian field is a real Gaussian field with
// spectrum (filter(k)² + filter(−k)²)/2 = filter(k)², i.e. filtered white noise with random
// phases, at the cost of one transform instead of two.
func newTexture(rng *rand.Rand, n int, filter spectralFilter) *texture {
	buf := make([]complex128, n*n)
	for r := range n {
		// Rows run down the screen, so the upward frequency is minus the row frequency.
		fy := -signedFreq(r, n)
		for c := range n {
			g := filter(signedFreq(c, n), fy)
			buf[r*n+c] = complex(g*rng.NormFloat64(), g*rng.NormFloat64())
		}
	}
	newFFTPlan(n).inverse2(buf, make([]complex128, n))

	t := &texture{n: n, mask: n - 1, pix: make([]float32, n*n)}
	var sum, sum2 float64
	for _, v := range buf {
		sum += real(v)
		sum2 += real(v) * real(v)
	}
	mean := sum / float64(len(buf))
	std := math.Sqrt(max(sum2/float64(len(buf))-mean*mean, 1e-30))
	for i, v := range buf {
		t.pix[i] = float32((real(v) - mean) / std)
	}
	return t
}

// signedFreq returns the frequency in cycles/sample of DFT index i of length n, in [−½, ½).
func signedFreq(i, n int) float64 {
	if i >= n/2 {
		i -= n
	}
	return float64(i) / float64(n)
}

// fftPlan is an in-place radix-2 FFT of a power-of-two length n: the bit-reversal
// permutation and the twiddle factors e^{+2πik/n}, k < n/2, of the inverse transform.
type fftPlan struct {
	rev []int
	tw  []complex128
}

func newFFTPlan(n int) *fftPlan {
	p := &fftPlan{rev: make([]int, n), tw: make([]complex128, n/2)}
	bits := 0
	for 1<<bits < n {
		bits++
	}
	for i := range n {
		r := 0
		for b := range bits {
			r |= (i >> b & 1) << (bits - 1 - b)
		}
		p.rev[i] = r
	}
	for k := range p.tw {
		s, c := math.Sincos(2 * math.Pi * float64(k) / float64(n))
		p.tw[k] = complex(c, s)
	}
	return p
}

// inverse replaces a with its unnormalised inverse DFT, a[x] ← Σ_k a[k] e^{+2πikx/n}
// (iterative Cooley–Tukey, decimation in time).
func (p *fftPlan) inverse(a []complex128) {
	n := len(a)
	for i, r := range p.rev {
		if i < r {
			a[i], a[r] = a[r], a[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		half, step := size/2, n/size
		for start := 0; start < n; start += size {
			lo, hi := a[start:start+half], a[start+half:start+size]
			for k := range lo {
				v := hi[k] * p.tw[k*step]
				hi[k] = lo[k] - v
				lo[k] += v
			}
		}
	}
}

// inverse2 applies the inverse DFT to the n×n array a [n, n] along rows and then columns;
// line is scratch of length n.
func (p *fftPlan) inverse2(a, line []complex128) {
	n := len(line)
	for r := range n {
		p.inverse(a[r*n : (r+1)*n])
	}
	for c := range n {
		for r := range n {
			line[r] = a[r*n+c]
		}
		p.inverse(line)
		for r := range n {
			a[r*n+c] = line[r]
		}
	}
}

// sample returns the bilinearly interpolated texture value at (u, v) (column, row), wrapping
// both coordinates.
func (t *texture) sample(u, v float64) float32 {
	fu, fv := math.Floor(u), math.Floor(v)
	au, av := float32(u-fu), float32(v-fv)
	c0, r0 := int(fu)&t.mask, int(fv)&t.mask
	c1, r1 := (c0+1)&t.mask, (r0+1)&t.mask
	p := t.pix
	top := p[r0*t.n+c0] + au*(p[r0*t.n+c1]-p[r0*t.n+c0])
	bot := p[r1*t.n+c0] + au*(p[r1*t.n+c1]-p[r1*t.n+c0])
	return top + av*(bot-top)
}

// nextPow2 returns the smallest power of two >= n (and >= 1).
func nextPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}
