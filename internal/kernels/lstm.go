package kernels

import "fmt"

// LSTMCell describes the fused LSTM update of MODEL.md 4.2 and 4.4 step 6:
//
//	i, f, o = sigmoid(a_i, a_f, a_o),  g = tanh(a_g)
//	c = f·c_prev + i·g,                h = o·tanh(c)
//
// on pre-activation gates laid out as a grouped convolution with G groups and 4·Hd output
// channels produces them, channel order (group, gate, hidden unit in the group):
//
//	gates  [N, G, 4, Hd/G, P]   gate order i, f, g, o within each group
//	c_prev [N, Hd, P]           hidden channel g·Hd/G + j
//	c, h   [N, Hd, P]
//
// P is the number of positions (H·W for the recurrent core, 1 for the modulation LSTM). With
// G = 1 the gates are [N, 4, Hd, P]. So one grouped 1×1 convolution can compute all four gates of
// the reference's four per-gate convolutions (4.4 step 6: each 1024 → 256 with 8 groups) if its
// weight rows are stacked group-major: rows g·4·Hd/G + q·Hd/G + j take row g·Hd/G + j of gate
// q's weight, and the bias likewise.
//
// The activations are computed in float64 with the fast functions of mathf.go (errors at
// float32 rounding level; the math package's for float64 gates) and rounded once.
type LSTMCell struct {
	N, G, Hd, P int
}

// lstmMinParallel is the number of elements below which the cell runs on the calling goroutine:
// the modulation LSTM (N·16 elements) costs less than starting a goroutine.
const lstmMinParallel = 1 << 14

// Validate reports whether the sizes are usable.
func (l LSTMCell) Validate() error { return l.validate("lstm cell") }

// validate is Validate with the kernel name that prefixes its errors.
func (l LSTMCell) validate(kernel string) error {
	if err := checkPositive(kernel, "N, G, Hd, P", l.N, l.G, l.Hd, l.P); err != nil {
		return err
	}
	if l.Hd%l.G != 0 {
		return fmt.Errorf("%s: hidden size Hd=%d must be divisible by groups G=%d: %w", kernel, l.Hd, l.G, ErrShape)
	}
	return nil
}

// LSTMCellForward computes c and h (both overwritten) from gates and cPrev. cPrev may be nil for a
// zero initial state (MODEL.md 4.4 step 8).
// Shapes: gates [N, G, 4, Hd/G, P], cPrev, c, h [N, Hd, P].
func LSTMCellForward[T Float](l LSTMCell, ws *Workspace, gates, cPrev, c, h []T) error {
	const kernel = "lstm cell forward"
	if err := checkLSTM(l, kernel, ws, gates, []named[T]{{"c", c}, {"h", h}}, []named[T]{{"cPrev", cPrev}}); err != nil {
		return err
	}
	l.forBlocks(ws, func(b, blk int) {
		gb, base := gates[4*b*blk:][:4*blk], b*blk
		var si, sf, so, t [expBlock]float64
		for e0 := 0; e0 < blk; e0 += expBlock {
			m := min(expBlock, blk-e0)
			sigmoids(gb[e0:][:m], si[:m])
			sigmoids(gb[blk+e0:][:m], sf[:m])
			sigmoids(gb[3*blk+e0:][:m], so[:m])
			for e, v := range gb[2*blk+e0:][:m] {
				t[e] = float64(v)
			}
			tanhsOf[T](t[:m], t[:m]) // g
			for e := 0; e < m; e++ {
				var cp float64
				if cPrev != nil {
					cp = float64(cPrev[base+e0+e])
				}
				cn := sf[e]*cp + si[e]*t[e]
				c[base+e0+e] = T(cn)
				t[e] = cn
			}
			tanhsOf[T](t[:m], t[:m]) // tanh(c)
			for e := 0; e < m; e++ {
				h[base+e0+e] = T(so[e] * t[e])
			}
		}
	})
	return nil
}

// LSTMCellBackward computes dGates and dcPrev (both overwritten) from the gradients dh and dc of the
// loss with respect to h and c (dc is the gradient arriving through the next step's c_prev;
// either may be nil for zero). It recomputes the activations from gates and cPrev, so the
// forward pass need keep nothing else. dcPrev may be nil when not needed; cPrev may be nil for
// a zero initial state.
// Shapes: gates, dGates [N, G, 4, Hd/G, P]; cPrev, dh, dc, dcPrev [N, Hd, P].
func LSTMCellBackward[T Float](l LSTMCell, ws *Workspace, gates, cPrev, dh, dc, dGates, dcPrev []T) error {
	const kernel = "lstm cell backward"
	if err := checkLSTM(l, kernel, ws, gates, nil, []named[T]{{"cPrev", cPrev}, {"dh", dh}, {"dc", dc}, {"dcPrev", dcPrev}}); err != nil {
		return err
	}
	if err := checkLen(kernel, "dGates", len(dGates), len(gates)); err != nil {
		return err
	}
	l.forBlocks(ws, func(b, blk int) {
		gb, dg, base := gates[4*b*blk:][:4*blk], dGates[4*b*blk:][:4*blk], b*blk
		var si, sf, so, g, tc [expBlock]float64
		for e0 := 0; e0 < blk; e0 += expBlock {
			m := min(expBlock, blk-e0)
			sigmoids(gb[e0:][:m], si[:m])
			sigmoids(gb[blk+e0:][:m], sf[:m])
			sigmoids(gb[3*blk+e0:][:m], so[:m])
			for e, v := range gb[2*blk+e0:][:m] {
				g[e] = float64(v)
			}
			tanhsOf[T](g[:m], g[:m])
			for e := 0; e < m; e++ {
				var cp float64
				if cPrev != nil {
					cp = float64(cPrev[base+e0+e])
				}
				tc[e] = sf[e]*cp + si[e]*g[e]
			}
			tanhsOf[T](tc[:m], tc[:m])
			for e := 0; e < m; e++ {
				k := base + e0 + e
				var cp, dhe, dce float64
				if cPrev != nil {
					cp = float64(cPrev[k])
				}
				if dh != nil {
					dhe = float64(dh[k])
				}
				if dc != nil {
					dce = float64(dc[k])
				}
				i, f, o, ge, t := si[e], sf[e], so[e], g[e], tc[e]
				dct := dce + dhe*o*(1-t*t) // total gradient reaching c
				dg[e0+e] = T(dct * ge * i * (1 - i))
				dg[blk+e0+e] = T(dct * cp * f * (1 - f))
				dg[2*blk+e0+e] = T(dct * i * (1 - ge*ge))
				dg[3*blk+e0+e] = T(dhe * t * o * (1 - o))
				if dcPrev != nil {
					dcPrev[k] = T(dct * f)
				}
			}
		}
	})
	return nil
}

// forBlocks calls fn(b, blk) for every (batch item, group) block b in [0, N·G), fanned out over
// ws when the cell is large. Block b's gate q is gates[(4·b+q)·blk:][:blk] and its state is
// state[b·blk:][:blk], with blk = Hd/G·P.
func (l LSTMCell) forBlocks(ws *Workspace, fn func(b, blk int)) {
	blk := l.Hd / l.G * l.P
	nb := l.N * l.G
	if nb*blk < lstmMinParallel {
		for b := 0; b < nb; b++ {
			fn(b, blk)
		}
		return
	}
	ws.run(nb, func(_, b int) { fn(b, blk) })
}

// named is a slice with its name, for error messages.
type named[T Float] struct {
	name string
	s    []T
}

// check validates ws, the sizes, gates, the required state slices and every optional one that
// is not nil.
func checkLSTM[T Float](l LSTMCell, kernel string, ws *Workspace, gates []T, required, optional []named[T]) error {
	if err := checkWS(kernel, ws); err != nil {
		return err
	}
	if err := l.validate(kernel); err != nil {
		return err
	}
	n := l.N * l.Hd * l.P
	if err := checkLen(kernel, "gates", len(gates), 4*n); err != nil {
		return err
	}
	for _, r := range required {
		if err := checkLen(kernel, r.name, len(r.s), n); err != nil {
			return err
		}
	}
	for _, o := range optional {
		if o.s != nil {
			if err := checkLen(kernel, o.name, len(o.s), n); err != nil {
				return err
			}
		}
	}
	return nil
}
