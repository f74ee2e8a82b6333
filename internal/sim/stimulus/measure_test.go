package stimulus

import (
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Image measurements used by the tests. They are written from textbook definitions and share
// no code with the renderers, so a renderer bug cannot cancel out in a test.

// spectrum2 returns the 2-D DFT [H, W] of frame [H, W] after removing its mean and applying a
// separable Hann window (which keeps the frame's border from leaking a cross into the
// spectrum).
func spectrum2(frame []uint8, h, w int) []complex128 {
	var mean float64
	for _, v := range frame {
		mean += float64(v)
	}
	mean /= float64(len(frame))
	a := make([]complex128, h*w)
	for y := range h {
		wy := hann(y, h)
		for x := range w {
			a[y*w+x] = complex((float64(frame[y*w+x])-mean)*wy*hann(x, w), 0)
		}
	}
	dft2(a, h, w)
	return a
}

func hann(i, n int) float64 { return 0.5 - 0.5*math.Cos(2*math.Pi*(float64(i)+0.5)/float64(n)) }

// dft2 transforms a [H, W] in place (forward, unnormalised).
func dft2(a []complex128, h, w int) {
	fw, fh := fourier.NewCmplxFFT(w), fourier.NewCmplxFFT(h)
	for y := range h {
		fw.Coefficients(a[y*w:(y+1)*w], a[y*w:(y+1)*w])
	}
	col := make([]complex128, h)
	for x := range w {
		for y := range h {
			col[y] = a[y*w+x]
		}
		fh.Coefficients(col, col)
		for y := range h {
			a[y*w+x] = col[y]
		}
	}
}

// freq returns the signed frequency in cycles/sample of DFT index i of length n.
func freq(i, n int) float64 {
	if i > n/2 {
		i -= n
	}
	return float64(i) / float64(n)
}

// spectralSlope returns the log-log slope of the radially averaged amplitude spectrum of the
// frames, fitted by least squares over radial frequencies [fLo, fHi] cycles/pixel in 16
// logarithmic bins (each bin the mean amplitude of the DFT coefficients it holds).
func spectralSlope(frames [][]uint8, h, w int, fLo, fHi float64) float64 {
	const bins = 16
	var sum [bins]float64
	var cnt [bins]int
	for _, fr := range frames {
		sp := spectrum2(fr, h, w)
		for y := range h {
			for x := range w {
				f := math.Hypot(freq(x, w), freq(y, h))
				if f < fLo || f > fHi {
					continue
				}
				b := min(bins-1, int(bins*math.Log(f/fLo)/math.Log(fHi/fLo)))
				sum[b] += cmplx.Abs(sp[y*w+x])
				cnt[b]++
			}
		}
	}
	var lx, ly []float64
	for b := range bins {
		if cnt[b] == 0 {
			continue
		}
		fc := fLo * math.Pow(fHi/fLo, (float64(b)+0.5)/bins)
		lx = append(lx, math.Log(fc))
		ly = append(ly, math.Log(sum[b]/float64(cnt[b])))
	}
	return lineSlope(lx, ly)
}

// lineSlope returns the least-squares slope of y on x.
func lineSlope(x, y []float64) float64 {
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(len(x))
	my /= float64(len(y))
	var sxy, sxx float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	return sxy / sxx
}

// orientationEnergy returns the fraction of spectral power of the frames in each of n bins of
// wave-vector orientation [0°, 180°) (0° = horizontal wave vector, i.e. vertical bars),
// counting radial frequencies in [fLo, fHi] cycles/pixel. Each coefficient's power is
// multiplied by f², which whitens a 1/f image so that every coefficient counts equally;
// otherwise the coarsest scales, where a few coefficients form a coarse orientation grid,
// would dominate.
func orientationEnergy(frames [][]uint8, h, w, n int, fLo, fHi float64) []float64 {
	e := make([]float64, n)
	var total float64
	for _, fr := range frames {
		sp := spectrum2(fr, h, w)
		for y := range h {
			for x := range w {
				fx, fy := freq(x, w), -freq(y, h)
				f := math.Hypot(fx, fy)
				if f < fLo || f > fHi {
					continue
				}
				ang := math.Mod(math.Atan2(fy, fx)*180/math.Pi+180, 180)
				p := cmplx.Abs(sp[y*w+x])
				p = p * p * f * f
				e[min(n-1, int(ang/180*float64(n)))] += p
				total += p
			}
		}
	}
	for i := range e {
		e[i] /= total
	}
	return e
}

// meanStd returns the mean and standard deviation of a frame's grey levels.
func meanStd(frame []uint8) (float64, float64) {
	var s, s2 float64
	for _, v := range frame {
		s += float64(v)
		s2 += float64(v) * float64(v)
	}
	n := float64(len(frame))
	m := s / n
	return m, math.Sqrt(math.Max(0, s2/n-m*m))
}

// meanAbsDiff returns the mean absolute grey-level difference of two frames.
func meanAbsDiff(a, b []uint8) float64 {
	var s float64
	for i := range a {
		s += math.Abs(float64(a[i]) - float64(b[i]))
	}
	return s / float64(len(a))
}

// shiftCorr returns the Pearson correlation between next and prev displaced by (dx, dy)
// pixels (x right, y down), with bilinear interpolation, over the pixels whose source lies
// inside prev (wrap = false) or over all pixels with toroidal wrap (wrap = true).
func shiftCorr(prev, next []uint8, h, w int, dx, dy float64, wrap bool) float64 {
	var sa, sb, saa, sbb, sab, n float64
	for y := range h {
		for x := range w {
			sx, sy := float64(x)-dx, float64(y)-dy
			if !wrap && (sx < 0 || sy < 0 || sx > float64(w-1) || sy > float64(h-1)) {
				continue
			}
			a := bilinear(prev, h, w, sx, sy)
			b := float64(next[y*w+x])
			sa += a
			sb += b
			saa += a * a
			sbb += b * b
			sab += a * b
			n++
		}
	}
	cov := sab/n - sa/n*sb/n
	return cov / math.Sqrt((saa/n-sa/n*sa/n)*(sbb/n-sb/n*sb/n))
}

// bilinear samples frame [H, W] at (x, y) with toroidal wrap.
func bilinear(frame []uint8, h, w int, x, y float64) float64 {
	fx, fy := math.Floor(x), math.Floor(y)
	ax, ay := x-fx, y-fy
	x0, y0 := mod(int(fx), w), mod(int(fy), h)
	x1, y1 := mod(x0+1, w), mod(y0+1, h)
	p := func(x, y int) float64 { return float64(frame[y*w+x]) }
	return (1-ay)*((1-ax)*p(x0, y0)+ax*p(x1, y0)) + ay*((1-ax)*p(x0, y1)+ax*p(x1, y1))
}

func mod(a, n int) int { return ((a % n) + n) % n }

// angleDiff returns the absolute difference of two angles in degrees, folded into [0, period/2].
func angleDiff(a, b, period float64) float64 {
	d := math.Mod(math.Abs(a-b), period)
	return math.Min(d, period-d)
}
