package kernels

// unfold is an im2col gather. It reads a source block of cs channels, each ts frames of hs×ws
// pixels (channel stride ts·hs·ws), and lays it out as a matrix with one row per kernel tap
// (c, k, kh, kw), row index ((c·kt + k)·kh + kh')·kw + kw' (the order of a Conv3d weight's
// fan-in), and one column per position (t, oh, ow) of a to×ho×wo grid, column index
// (t·ho + oh)·wo + ow. The element at row (c, k, i, j) and column (t, oh, ow) is
//
//	src[c, t + k − off, oh·sh − ph + i, ow·sw − pw + j]
//
// and zero when the frame lies outside [0, ts) (causal or trailing zero frames); outside the
// image it is zero, or the clamped edge pixel when replicate is set.
type unfold[T Float] struct {
	cs, ts, hs, ws int // source block: channels, frames, height, width
	kt, kh, kw     int // kernel extent
	sh, sw         int // spatial strides
	ph, pw         int // spatial padding (may be negative: then it crops)
	off            int // temporal offset
	replicate      bool
	to, ho, wo     int // column grid
}

// identity reports whether the unfolded matrix is the source block itself (a 1×1×1 kernel,
// stride 1, no padding, same grid), so that gemm can read the source in place with row stride
// ts·hs·ws.
func (u *unfold[T]) identity() bool {
	return u.kt == 1 && u.kh == 1 && u.kw == 1 && u.sh == 1 && u.sw == 1 && u.ph == 0 && u.pw == 0 &&
		u.off == 0 && u.to == u.ts && u.ho == u.hs && u.wo == u.ws
}

// gather writes columns [c0, c1) of the unfolded matrix of the block src into dst, with row
// stride ld: dst column j holds column c0 + j.
func (u *unfold[T]) gather(src, dst []T, ld, c0, c1 int) {
	u.walk(src, dst, ld, c0, c1, false)
}

// scatter adds columns [c0, c1) of col (row stride ld, column j holding column c0 + j) into
// the block dst: the adjoint of gather. Two scatters whose columns read the same source pixels
// must not run concurrently.
func (u *unfold[T]) scatter(col, dst []T, ld, c0, c1 int) {
	u.walk(dst, col, ld, c0, c1, true)
}

// walk runs gather (add false) or scatter (add true) over columns [c0, c1).
func (u *unfold[T]) walk(img, col []T, ld, c0, c1 int, add bool) {
	howo, hw := u.ho*u.wo, u.hs*u.ws
	r := 0
	for c := 0; c < u.cs; c++ {
		for k := 0; k < u.kt; k++ {
			for i := 0; i < u.kh; i++ {
				for j := 0; j < u.kw; j++ {
					row := col[r*ld:][:c1-c0]
					r++
					for a := c0; a < c1; {
						t, p0 := a/howo, a%howo
						p1 := min(howo, p0+c1-a)
						seg := row[a-c0:][:p1-p0]
						a += p1 - p0
						f := t + k - u.off
						if f < 0 || f >= u.ts {
							if !add {
								clear(seg)
							}
							continue
						}
						plane := img[(c*u.ts+f)*hw:][:hw]
						if add {
							u.scatterRows(seg, plane, p0, p1, i, j)
						} else {
							u.gatherRows(seg, plane, p0, p1, i, j)
						}
					}
				}
			}
		}
	}
}

// validOW returns the grid columns [lo, hi) whose source column ow·sw − pw + j lies inside
// the image, for kernel column j.
func (u *unfold[T]) validOW(j int) (lo, hi int) {
	d := u.pw - j
	lo = min(u.wo, max(0, ceilDivSigned(d, u.sw)))
	hi = min(u.wo, max(lo, floorDiv(u.ws-1+d, u.sw)+1))
	return lo, hi
}

// gatherRows fills dst with kernel tap (i, j) of one source plane for grid pixels [p0, p1),
// which may span several grid rows.
func (u *unfold[T]) gatherRows(dst, plane []T, p0, p1, i, j int) {
	lo, hi := u.validOW(j)
	shift := j - u.pw
	for p := p0; p < p1; {
		oh, owA := p/u.wo, p%u.wo
		owB := min(u.wo, owA+p1-p)
		seg := dst[p-p0:][:owB-owA]
		p += owB - owA
		ih := oh*u.sh - u.ph + i
		if ih < 0 || ih >= u.hs {
			if !u.replicate {
				clear(seg)
				continue
			}
			ih = min(u.hs-1, max(0, ih))
		}
		src := plane[ih*u.ws:][:u.ws]
		a := min(max(owA, lo), owB)
		b := max(min(owB, hi), a)
		left, mid, right := seg[:a-owA], seg[a-owA:b-owA], seg[b-owA:]
		if u.replicate {
			fill(left, src[0])
			fill(right, src[u.ws-1])
		} else {
			clear(left)
			clear(right)
		}
		switch {
		case a == b:
			// No pixel inside the image; a+shift may lie outside src.
		case u.sw == 1:
			copy(mid, src[a+shift:b+shift])
		default:
			for q := range mid {
				mid[q] = src[(a+q)*u.sw+shift]
			}
		}
	}
}

// scatterRows adds src, kernel tap (i, j) for grid pixels [p0, p1), into one source plane: the
// adjoint of gatherRows (with replicate padding the clamped reads add into the edge pixels).
func (u *unfold[T]) scatterRows(src, plane []T, p0, p1, i, j int) {
	lo, hi := u.validOW(j)
	shift := j - u.pw
	for p := p0; p < p1; {
		oh, owA := p/u.wo, p%u.wo
		owB := min(u.wo, owA+p1-p)
		seg := src[p-p0:][:owB-owA]
		p += owB - owA
		ih := oh*u.sh - u.ph + i
		if ih < 0 || ih >= u.hs {
			if !u.replicate {
				continue
			}
			ih = min(u.hs-1, max(0, ih))
		}
		dst := plane[ih*u.ws:][:u.ws]
		a := min(max(owA, lo), owB)
		b := max(min(owB, hi), a)
		if u.replicate {
			dst[0] += sumOf(seg[:a-owA])
			dst[u.ws-1] += sumOf(seg[b-owA:])
		}
		mid := seg[a-owA : b-owA]
		switch {
		case a == b:
		case u.sw == 1:
			addTo(dst[a+shift:b+shift], mid)
		default:
			for q, v := range mid {
				dst[(a+q)*u.sw+shift] += v
			}
		}
	}
}

// addTo adds src into dst element-wise; len(dst) == len(src). Unrolled by 4 because Go does
// not vectorise this loop.
func addTo[T Float](dst, src []T) {
	src = src[:len(dst)]
	i := 0
	for ; i+4 <= len(dst); i += 4 {
		d, s := dst[i:i+4:i+4], src[i:i+4:i+4]
		d[0] += s[0]
		d[1] += s[1]
		d[2] += s[2]
		d[3] += s[3]
	}
	for ; i < len(dst); i++ {
		dst[i] += src[i]
	}
}

// fill sets every element of x to v.
func fill[T Float](x []T, v T) {
	for i := range x {
		x[i] = v
	}
}

// sumOf returns the sum of x, accumulated in T.
func sumOf[T Float](x []T) T {
	var s T
	for _, v := range x {
		s += v
	}
	return s
}

// floorDiv returns ⌊a/b⌋ for b > 0 and any sign of a.
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// ceilDivSigned returns ⌈a/b⌉ for b > 0 and any sign of a.
func ceilDivSigned(a, b int) int { return -floorDiv(-a, b) }

// ceilDiv returns ⌈a/b⌉ for a ≥ 0, b > 0.
func ceilDiv(a, b int) int { return (a + b - 1) / b }
