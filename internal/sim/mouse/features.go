package mouse

import (
	"fmt"
	"runtime"
	"sync"
)

// Features holds the bank's spatial responses to one clip: for every scale and
// orientation the demodulated complex Gabor response, the Gaussian-blurred luminance
// that removes the filters' residual DC, and the normalisation pool (local RMS
// contrast). All mice read the same Features; nothing in it depends on a mouse.
//
// Memory is T·(Σ_scales nodes·(2·orientations + 1) + pool nodes)·4 bytes; with the
// default bank 55 MB per 10 s (300 frames) on a 64×36 frame, where the finest grid is
// every pixel, and 30 MB on a 256×144 frame (the grids are set in degrees, not pixels).
type Features struct {
	bank *Bank
	t    int
	// z[s·O+o] is [T, ny, nx, 2]: Σ_x I(x)·G(x−n)·exp(i·k·x) at grid node n, the complex
	// Gabor response demodulated by exp(i·k·n) so that it varies on the scale of σ only.
	z [][]float32
	// blur[s] is [T, ny, nx]: Σ_x I(x)·G(x−n), the envelope-weighted luminance.
	blur [][]float32
	// pool is [T, nyP, nxP]: the local contrast energy, the luminance variance in a
	// Gaussian window of σ poolSigmaDeg, G∗I² − (G∗I)².
	pool []float32
}

// Frames returns T, the number of frames the features cover.
func (f *Features) Frames() int { return f.t }

// Bank returns the bank that computed the features.
func (f *Features) Bank() *Bank { return f.bank }

// Features computes the bank's responses to a clip of T uint8 grayscale frames
// ([T, H, W] row-major, H and W from the bank's spec). Pixel values v become contrast
// v/255 − 0.5 (linear luminance, mid-grey 0); pixels beyond the frame edge repeat the
// edge. If dst is non-nil its buffers are reused when they are large enough, and dst is
// returned (so do not pass a dst that a Respond is still reading). The work is spread
// over GOMAXPROCS goroutines by frame.
func (b *Bank) Features(frames []uint8, T int, dst *Features) (*Features, error) {
	w, h := b.spec.Width, b.spec.Height
	if T <= 0 {
		return nil, fmt.Errorf("bank features: %d frames, want at least 1: %w", T, ErrInput)
	}
	if len(frames) != T*h*w {
		return nil, fmt.Errorf("bank features: frames hold %d bytes, want T×H×W = %d×%d×%d = %d: %w",
			len(frames), T, h, w, T*h*w, ErrInput)
	}
	f := dst
	if f == nil {
		f = &Features{}
	}
	f.bank, f.t = b, T
	nOri := b.spec.Orientations
	f.z = resize2(f.z, len(b.scales)*nOri)
	f.blur = resize2(f.blur, len(b.scales))
	for si, s := range b.scales {
		for o := range nOri {
			f.z[si*nOri+o] = resize(f.z[si*nOri+o], T*s.g.size()*2)
		}
		f.blur[si] = resize(f.blur[si], T*s.g.size())
	}
	f.pool = resize(f.pool, T*b.pool.size())

	workers := min(runtime.GOMAXPROCS(0), T)
	var wg sync.WaitGroup
	for wk := range workers {
		wg.Go(func() {
			sc := b.newScratch()
			for t := wk; t < T; t += workers {
				b.frame(f, frames[t*h*w:(t+1)*h*w], t, sc)
			}
		})
	}
	wg.Wait()
	return f, nil
}

// scratch is one worker's buffers for Features.
type scratch struct {
	img    []float32   // [H·W] contrast image
	pad    []float32   // [H·(W + step + 2R)] edge-padded rows of one scale
	hx     [][]float32 // [O/2+1][H·nx·2] horizontal complex passes
	hb     []float32   // [H·nx] horizontal blur pass
	pq     []float32   // [nx·4] vertical pass accumulators
	h1, h2 []float32   // [H·nxP] horizontal pool passes of I and I²
}

// newScratch allocates one worker's buffers.
func (b *Bank) newScratch() *scratch {
	h := b.spec.Height
	nx := 0
	pw := (b.pool.nx-1)*b.pool.step + len(b.poolTaps)
	for _, s := range b.scales {
		nx = max(nx, s.g.nx)
		pw = max(pw, (s.g.nx-1)*s.g.step+2*s.radius+1)
	}
	sc := &scratch{
		img: make([]float32, b.spec.Width*h),
		pad: make([]float32, h*pw),
		hx:  make([][]float32, b.spec.Orientations/2+1),
		hb:  make([]float32, h*nx),
		pq:  make([]float32, 4*nx),
		h1:  make([]float32, h*b.pool.nx),
		h2:  make([]float32, h*b.pool.nx),
	}
	for i := range sc.hx {
		sc.hx[i] = make([]float32, h*nx*2)
	}
	return sc
}

// frame computes every map of frame t from its pixels px ([H, W]).
func (b *Bank) frame(f *Features, px []uint8, t int, sc *scratch) {
	w, h := b.spec.Width, b.spec.Height
	nOri := b.spec.Orientations
	for i, v := range px {
		sc.img[i] = float32(v)/255 - 0.5
	}
	b.poolFrame(f.pool[t*b.pool.size():(t+1)*b.pool.size()], sc)
	for si := range b.scales {
		s := &b.scales[si]
		nx, ny, n := s.g.nx, s.g.ny, 2*s.radius+1
		nodes := s.g.size()

		// Rows padded by repeating the edge pixels, so every node's window is contiguous.
		pw := (nx-1)*s.g.step + n
		pad := sc.pad[:h*pw]
		for y := range h {
			row := sc.img[y*w : (y+1)*w]
			prow := pad[y*pw : (y+1)*pw]
			for k := range prow {
				prow[k] = row[clamp(k-s.radius, 0, w-1)]
			}
		}

		// Blur: separable real Gaussian.
		for y := range h {
			prow := pad[y*pw : (y+1)*pw]
			out := sc.hb[y*nx : (y+1)*nx]
			for j := range out {
				win := prow[j*s.g.step : j*s.g.step+n]
				g := s.gauss[:len(win)]
				var acc float32
				for d, v := range win {
					acc += v * g[d]
				}
				out[j] = acc
			}
		}
		blur := f.blur[si][t*nodes : (t+1)*nodes]
		for i := range ny {
			idx := s.yIdx[i*n : (i+1)*n]
			out := blur[i*nx : (i+1)*nx]
			clear(out)
			for d, y := range idx {
				g := s.gauss[d]
				in := sc.hb[int(y)*nx : int(y)*nx+nx]
				for j := range out {
					out[j] += g * in[j]
				}
			}
		}

		// Horizontal complex passes. Orientation O−o has k_x of the opposite sign, so on a
		// real image its pass is the conjugate of orientation o's: only o ≤ O/2 are run.
		for src := range nOri/2 + 1 {
			kr, ki := s.kxr[src], s.kxi[src]
			buf := sc.hx[src]
			for y := range h {
				prow := pad[y*pw : (y+1)*pw]
				out := buf[y*nx*2 : (y+1)*nx*2]
				for j := range nx {
					win := prow[j*s.g.step : j*s.g.step+n]
					tr, ti := kr[j*n:j*n+len(win)], ki[j*n:j*n+len(win)]
					var re, im float32
					for d, v := range win {
						re += v * tr[d]
						im += v * ti[d]
					}
					out[2*j], out[2*j+1] = re, im
				}
			}
		}

		// Vertical complex passes. Orientations o and O−o share their vertical taps and
		// have conjugate horizontal passes h = hr + i·hi, so with P = Σ hr·taps and
		// Q = Σ hi·taps: z_o = P + i·Q and z_(O−o) = P − i·Q, one pass for the pair.
		for src := range nOri/2 + 1 {
			pair := nOri - src
			if src == 0 || pair == src {
				pair = -1
			}
			hx := sc.hx[src]
			ky := s.ky[src]
			zo := f.z[si*nOri+src][t*nodes*2 : (t+1)*nodes*2]
			var zp []float32
			if pair >= 0 {
				zp = f.z[si*nOri+pair][t*nodes*2 : (t+1)*nodes*2]
			}
			pq := sc.pq[:4*nx]
			for i := range ny {
				idx := s.yIdx[i*n : (i+1)*n]
				taps := ky[i*n*2 : (i+1)*n*2]
				clear(pq)
				for d, y := range idx {
					tr, ti := taps[2*d], taps[2*d+1]
					in := hx[int(y)*nx*2 : (int(y)+1)*nx*2]
					for j := range nx {
						hr, hi := in[2*j], in[2*j+1]
						acc := pq[4*j : 4*j+4 : 4*j+4]
						acc[0] += hr * tr
						acc[1] += hr * ti
						acc[2] += hi * tr
						acc[3] += hi * ti
					}
				}
				out := zo[i*nx*2 : (i+1)*nx*2]
				for j := range nx {
					acc := pq[4*j : 4*j+4 : 4*j+4]
					out[2*j], out[2*j+1] = acc[0]-acc[3], acc[1]+acc[2]
				}
				if pair >= 0 {
					out := zp[i*nx*2 : (i+1)*nx*2]
					for j := range nx {
						acc := pq[4*j : 4*j+4 : 4*j+4]
						out[2*j], out[2*j+1] = acc[0]+acc[3], acc[1]-acc[2]
					}
				}
			}
		}
	}
}

// poolFrame writes the normalisation pool of the frame in sc.img to out ([nyP, nxP]):
// the variance of the contrast image in a Gaussian window around each pool node.
func (b *Bank) poolFrame(out []float32, sc *scratch) {
	w, h := b.spec.Width, b.spec.Height
	g, taps := b.pool, b.poolTaps
	r, n := len(taps)/2, len(taps)
	pw := (g.nx-1)*g.step + n
	pad := sc.pad[:pw]
	for y := range h {
		row := sc.img[y*w : (y+1)*w]
		for k := range pad {
			pad[k] = row[clamp(k-r, 0, w-1)]
		}
		o1, o2 := sc.h1[y*g.nx:(y+1)*g.nx], sc.h2[y*g.nx:(y+1)*g.nx]
		for j := range g.nx {
			win := pad[j*g.step : j*g.step+n]
			tp := taps[:len(win)]
			var a1, a2 float32
			for d, v := range win {
				a1 += tp[d] * v
				a2 += tp[d] * v * v
			}
			o1[j], o2[j] = a1, a2
		}
	}
	for i := range g.ny {
		for j := range g.nx {
			var m1, m2 float32
			for d, tp := range taps {
				y := clamp(i*g.step+d-r, 0, h-1)
				m1 += tp * sc.h1[y*g.nx+j]
				m2 += tp * sc.h2[y*g.nx+j]
			}
			out[i*g.nx+j] = max(0, m2-m1*m1)
		}
	}
}

// resize returns s with length n, reusing its storage when the capacity allows.
func resize(s []float32, n int) []float32 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]float32, n)
}

// resize2 returns s with length n, keeping existing inner slices for reuse.
func resize2(s [][]float32, n int) [][]float32 {
	if cap(s) >= n {
		return s[:n]
	}
	return append(s[:cap(s)], make([][]float32, n-cap(s))...)
}
