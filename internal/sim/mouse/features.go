package mouse

import (
	"fmt"
	"runtime"
	"sync"
)

// Features holds the bank's spatial responses to one clip: for every scale and
// orientation the demodulated complex Gabor response, the Gaussian-blurred luminance that
// removes the filters' residual DC, and the normalisation pool. All mice read the same
// Features; nothing in it depends on a mouse. Memory is about
// T·(Σ_scales nodes·(2·orientations+1) + pool nodes)·4 bytes with the default bank:
// 55 MB per 10 s (300 frames) on a 64×36 frame, where the finest grid is every pixel,
// and 30 MB on a 256×144 frame (the grids are set in degrees, not pixels).
type Features struct {
	bank *Bank
	t    int
	// z[s·O+o] is [T, ny, nx, 2]: Σ_x I(x)·G(x−n)·exp(i·k·x) at grid node n, the complex
	// Gabor response demodulated by exp(i·k·n) so that it varies on the scale of σ only.
	z [][]float32
	// blur[s] is [T, ny, nx]: Σ_x I(x)·G(x−n), the envelope-weighted luminance.
	blur [][]float32
	// pool is [T, nyP, nxP]: the local contrast energy, the mean over scales and
	// orientations of |z|², blurred by a Gaussian of poolSigmaDeg.
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
// returned. The work is spread over GOMAXPROCS goroutines by frame.
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
	energy []float32   // [ny·nx] one scale's mean energy over orientations
	acc    []float32   // [nyP·nxP] pool accumulator
	tmp    []float32   // [nyP·nxP] pool blur intermediate
}

// newScratch allocates one worker's buffers.
func (b *Bank) newScratch() *scratch {
	h := b.spec.Height
	nx, nodes, pw := 0, 0, 0
	for _, s := range b.scales {
		nx = max(nx, s.g.nx)
		nodes = max(nodes, s.g.size())
		pw = max(pw, (s.g.nx-1)*s.g.step+2*s.radius+1)
	}
	sc := &scratch{
		img:    make([]float32, b.spec.Width*h),
		pad:    make([]float32, h*pw),
		hx:     make([][]float32, b.spec.Orientations/2+1),
		hb:     make([]float32, h*nx),
		pq:     make([]float32, 4*nx),
		energy: make([]float32, nodes),
		acc:    make([]float32, b.pool.size()),
		tmp:    make([]float32, b.pool.size()),
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
	clear(sc.acc)
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

		clear(sc.energy[:nodes])
		for o := range nOri {
			z := f.z[si*nOri+o][t*nodes*2 : (t+1)*nodes*2]
			// Energy at the nodes: |z̃·exp(−i·k·n) − dc·blur|².
			car := s.carrier[o]
			dc := float32(s.dc[o])
			for q := range nodes {
				zr, zi := z[2*q], z[2*q+1]
				cr, ci := car[2*q], car[2*q+1]
				re := zr*cr - zi*ci - dc*blur[q]
				im := zr*ci + zi*cr
				sc.energy[q] += re*re + im*im
			}
		}
		// Resample the scale's mean energy onto the pool grid and accumulate.
		r := &b.poolRes[si]
		norm := 1 / float32(nOri*len(b.scales))
		for i := range b.pool.ny {
			y0, wy := int(r.y0[i]), r.wy[i]
			for j := range b.pool.nx {
				x0, wx := int(r.x0[j]), r.wx[j]
				q := y0*nx + x0
				e := (1-wy)*((1-wx)*sc.energy[q]+wx*sc.energy[q+1]) +
					wy*((1-wx)*sc.energy[q+nx]+wx*sc.energy[q+nx+1])
				sc.acc[i*b.pool.nx+j] += norm * e
			}
		}
	}
	blurGrid(f.pool[t*b.pool.size():(t+1)*b.pool.size()], sc.acc, sc.tmp, b.pool, b.poolTaps)
}

// blurGrid writes the separable Gaussian blur (taps, edges clamped) of in to out, using
// tmp as the intermediate; all three are [ny, nx] on grid g.
func blurGrid(out, in, tmp []float32, g grid, taps []float32) {
	r := len(taps) / 2
	for i := range g.ny {
		for j := range g.nx {
			var acc float32
			for d, t := range taps {
				acc += t * in[i*g.nx+clamp(j+d-r, 0, g.nx-1)]
			}
			tmp[i*g.nx+j] = acc
		}
	}
	for i := range g.ny {
		for j := range g.nx {
			var acc float32
			for d, t := range taps {
				acc += t * tmp[clamp(i+d-r, 0, g.ny-1)*g.nx+j]
			}
			out[i*g.nx+j] = acc
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
