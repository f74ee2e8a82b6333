package kernels

// wideConv is the stride-1 lowering of a convolution, used by every 3×3 and 3×3×3 layer of the
// model (and by the transposed convolution of their backward pass). It computes
//
//	out[o, t, oh, ow] = Σ_{c,k,i,j} w[o, c, k, i, j] · src[c, t + k − off, oh − ph + i, ow − pw + j]
//
// for a source block of cs channels × ts frames × hs×ws pixels, zero for frames outside
// [0, ts), spatially zero or replicate padded.
//
// The trick: each source frame is first padded into a (hs+2ph)×(ws+2pw) = hp×wp buffer, and the
// product is computed on a "wide" grid of ho×wp columns per output frame, whose last wp − wo
// columns of each row are garbage that is dropped when the result is copied out. On the wide
// grid the im2col row of tap (c, k, i, j) is one contiguous slice of the padded frame, starting at
// i·wp + j, so building a block of columns costs one memmove per row instead of one per row and
// output row (TOOLCHAIN.md 2.5 measured im2col at 12% of a gorgonia conv; on the 16×24 maps of
// the recurrent core the per-output-row copies cost as much as the gemm).
type wideConv[T Float] struct {
	cs, ts, hs, ws int // source block: channels, frames, height, width (channel stride ts·hs·ws)
	kt, kh, kw     int // kernel extent
	ph, pw         int // padding, ≥ 0
	off            int // output frame t, tap k reads source frame t + k − off
	replicate      bool
	to, ho, wo     int // output grid
	hp, wp         int // padded frame
}

// newWide returns the stride-1 lowering of the given sizes; ho and wo follow from the padding.
func newWide[T Float](cs, ts, hs, ws, kt, kh, kw, ph, pw, off int, replicate bool, to int) wideConv[T] {
	hp, wp := hs+2*ph, ws+2*pw
	return wideConv[T]{
		cs: cs, ts: ts, hs: hs, ws: ws, kt: kt, kh: kh, kw: kw, ph: ph, pw: pw, off: off,
		replicate: replicate, to: to, ho: hp - kh + 1, wo: wp - kw + 1, hp: hp, wp: wp,
	}
}

// rows returns the number of rows of the unfolded matrix, the fan-in cs·kt·kh·kw.
func (c *wideConv[T]) rows() int { return c.cs * c.kt * c.kh * c.kw }

// cols returns the number of wide columns of one output frame.
func (c *wideConv[T]) cols() int { return c.ho * c.wp }

// padded reports whether frames are copied into a padded buffer; without padding the rows are
// read from the source block in place.
func (c *wideConv[T]) padded() bool { return c.ph > 0 || c.pw > 0 }

// padLen returns the length of the buffer padFrames fills: kt padded frames per channel.
func (c *wideConv[T]) padLen() int {
	if !c.padded() {
		return 0
	}
	return c.cs * c.kt * c.hp * c.wp
}

// frameValid reports whether tap k of output frame t reads a frame inside the source.
func (c *wideConv[T]) frameValid(t, k int) bool {
	f := t + k - c.off
	return f >= 0 && f < c.ts
}

// padFrames copies the source frames that output frame t reads into pad, layout
// [cs][kt][hp·wp], with the border filled by zeros or the replicated edge.
func (c *wideConv[T]) padFrames(src, pad []T, t int) {
	hw, hpwp := c.hs*c.ws, c.hp*c.wp
	for ch := 0; ch < c.cs; ch++ {
		for k := 0; k < c.kt; k++ {
			if !c.frameValid(t, k) {
				continue // gather writes zero rows for it
			}
			plane := src[(ch*c.ts+t+k-c.off)*hw:][:hw]
			dst := pad[(ch*c.kt+k)*hpwp:][:hpwp]
			for r := 0; r < c.hp; r++ {
				row := dst[r*c.wp:][:c.wp]
				ih := r - c.ph
				if ih < 0 || ih >= c.hs {
					if !c.replicate {
						clear(row)
						continue
					}
					ih = min(c.hs-1, max(0, ih))
				}
				s := plane[ih*c.ws:][:c.ws]
				copy(row[c.pw:], s)
				if c.replicate {
					fill(row[:c.pw], s[0])
					fill(row[c.pw+c.ws:], s[c.ws-1])
				} else {
					clear(row[:c.pw])
					clear(row[c.pw+c.ws:])
				}
			}
		}
	}
}

// gather writes wide columns [a, b) of output frame t into col (row stride ld). base is the
// padded buffer when padded(), else the source block itself.
func (c *wideConv[T]) gather(base, col []T, ld, t, a, b int) {
	hpwp := c.hp * c.wp
	r := 0
	for ch := 0; ch < c.cs; ch++ {
		for k := 0; k < c.kt; k++ {
			valid := c.frameValid(t, k)
			plane := (ch*c.kt + k) * hpwp
			if !c.padded() {
				plane = (ch*c.ts + t + k - c.off) * hpwp
			}
			for i := 0; i < c.kh; i++ {
				for j := 0; j < c.kw; j++ {
					row := col[r*ld:][:b-a]
					r++
					if !valid {
						clear(row)
						continue
					}
					// The garbage columns of the last output row read up to kw−1 elements
					// past the frame; clip at the end of base (their values are dropped).
					start := min(len(base), plane+i*c.wp+j+a)
					n := copy(row, base[start:min(len(base), start+b-a)])
					clear(row[n:])
				}
			}
		}
	}
}

// compact copies wide columns [a, b) of frame t from the m-row matrix cm (row stride ldc) into
// out (rows of stride ldo, frame t at offset t·ho·wo), dropping the garbage columns and adding
// bias[o] when bias is not nil.
func (c *wideConv[T]) compact(cm []T, ldc, m int, out []T, ldo, t, a, b int, bias []T) {
	howo := c.ho * c.wo
	for o := 0; o < m; o++ {
		src := cm[o*ldc:][:b-a]
		dst := out[o*ldo+t*howo:][:howo]
		for p := a; p < b; {
			oh, ow := p/c.wp, p%c.wp
			end := min(b, (oh+1)*c.wp)
			if ow < c.wo {
				n := min(c.wo, ow+end-p) - ow
				seg := dst[oh*c.wo+ow:][:n]
				copy(seg, src[p-a:][:n])
				if bias != nil {
					addConst(seg, bias[o])
				}
			}
			p = end
		}
	}
}

// expand is the adjoint of compact without bias: it writes wide columns [a, b) of frame t of
// the m-row matrix in (rows of stride ldi) into dst (row stride ldd), zeros in the garbage
// columns.
func (c *wideConv[T]) expand(in []T, ldi, m int, dst []T, ldd, t, a, b int) {
	howo := c.ho * c.wo
	for o := 0; o < m; o++ {
		src := in[o*ldi+t*howo:][:howo]
		row := dst[o*ldd:][:b-a]
		for p := a; p < b; {
			oh, ow := p/c.wp, p%c.wp
			end := min(b, (oh+1)*c.wp)
			seg := row[p-a : end-a]
			n := max(0, min(c.wo, ow+end-p)-ow)
			if n > 0 {
				copy(seg, src[oh*c.wo+ow:][:n])
			}
			clear(seg[n:])
			p = end
		}
	}
}

// addConst adds v to every element of x.
func addConst[T Float](x []T, v T) {
	for i := range x {
		x[i] += v
	}
}
