package core

import (
	G "gorgonia.org/gorgonia"

	"github.com/fmcore/fmcore/model/nn"
)

// RecurrentCore is the CvT-LSTM (or Conv-LSTM) of one stream (MODEL.md 4.4, 4.5).
type RecurrentCore struct {
	cfg        RecurrentConfig
	ffOut, mod int // widths of the feedforward output and the modulation vector
}

// NewRecurrent builds the recurrent core reading ffOut feedforward channels and a
// modulation vector of width mod.
func NewRecurrent(cfg RecurrentConfig, ffOut, mod int) *RecurrentCore {
	return &RecurrentCore{cfg: cfg, ffOut: ffOut, mod: mod}
}

// recurrentWeights are the per-sequence effective weights.
type recurrentWeights struct {
	projH        *G.Node // [In, Hidden, 1, 1, 1] with zero diagonal blocks; nil when Groups = 1
	projF, projM *G.Node
	z, q, k, v   *G.Node
	gates, gateB *G.Node // [4·Hidden, …] stacked group-major for the fused LSTM kernel, [4·Hidden]
	out          *G.Node
	scales       *G.Node // [G, Common/G]
}

func (r *RecurrentCore) weights(b *nn.Builder, p *nn.Params) recurrentWeights {
	c := r.cfg
	var w recurrentWeights
	w.projH = r.interGroup(b, p)
	w.projF = b.Weight(p, c.ProjFSpec(r.ffOut))
	w.projM = b.Weight(p, c.ProjMSpec(r.mod))
	if c.Type == CvtLSTM {
		w.z = b.Weight(p, c.ZSpec())
		w.q, w.k, w.v = b.Weight(p, c.QKVSpec("q")), b.Weight(p, c.QKVSpec("k")), b.Weight(p, c.QKVSpec("v"))
		w.scales = p.Get("core.recurrent.scales")
	}
	// Stack the i, f, g, o weights so one grouped conv yields [N, G, 4, Hidden/G, P]:
	// row g·4·Hg + q·Hg + j is row g·Hg + j of gate q (the LSTM kernel's layout).
	groups, hg := c.Groups, c.Hidden/c.Groups
	var ws, bs []*G.Node
	var rest []int
	for _, g := range c.GateSpecs() {
		rest = []int{g.In / g.Groups, g.KT, g.KH, g.KW}
		fan := g.In / g.Groups * g.KT * g.KH * g.KW
		ws = append(ws, b.Reshape(b.Weight(p, g), groups, 1, hg, fan))
		bs = append(bs, b.Reshape(b.ConvBias(p, g), groups, 1, hg))
	}
	w.gates = b.Reshape(b.Concat(1, ws...), append([]int{4 * c.Hidden}, rest...)...)
	w.gateB = b.Reshape(b.Concat(1, bs...), 4*c.Hidden)
	w.out = b.Weight(p, c.OutSpec())
	return w
}

// interGroup expands the InterGroup weight [G, G−1, In/G, Hidden/G] into a full 1×1 conv
// weight [In, Hidden, 1, 1, 1] whose diagonal blocks are zero: output group g reads every
// other group, in increasing order. It is standardised per (output group, channel) over
// its (G−1)·Hidden/G inputs, with gain index g·In/G + o.
func (r *RecurrentCore) interGroup(b *nn.Builder, p *nn.Params) *G.Node {
	c := r.cfg
	G0 := c.Groups
	if G0 == 1 {
		return nil
	}
	gi, gh := c.In/G0, c.Hidden/G0
	raw := b.Transpose(p.Get("core.recurrent.proj_h.weight"), 0, 2, 1, 3) // [G, Gi, G−1, Gh]
	std := b.WeightStd(b.Reshape(raw, G0*gi, (G0-1)*gh), p.Get("core.recurrent.proj_h.gain"))
	zero := b.Fixed(std.Dtype(), nil, gi, gh)
	rows := make([]*G.Node, G0)
	for g := range G0 {
		blk := b.Slice(std, 0, g*gi, (g+1)*gi) // [Gi, (G−1)·Gh]
		var parts []*G.Node
		if g > 0 {
			parts = append(parts, b.Slice(blk, 1, 0, g*gh))
		}
		parts = append(parts, zero)
		if g < G0-1 {
			parts = append(parts, b.Slice(blk, 1, g*gh, (G0-1)*gh))
		}
		rows[g] = b.Concat(1, parts...)
	}
	return b.Reshape(b.Concat(0, rows...), c.In, c.Hidden, 1, 1, 1)
}

// The dropout sites of the recurrent core: its projected input x and its new state h.
const (
	RecurrentDropoutX = "core.recurrent.x"
	RecurrentDropoutH = "core.recurrent.h"
)

// Forward runs the recurrent core over a window (st == nil, from reset) or one step:
//
//	f   [N, FF, T, H, W]  feedforward output
//	m   [N, T, Mod]       modulation vectors
//	out [N, Out, T, H, W]
func (r *RecurrentCore) Forward(b *nn.Builder, p *nn.Params, f, m *G.Node, st *State) *G.Node {
	defer b.Scope("core.recurrent")()
	if b.Err() != nil {
		return nil
	}
	c := r.cfg
	s := f.Shape()
	N, T, H, W := s[0], s[2], s[3], s[4]
	P := H * W
	w := r.weights(b, p)

	// The feedforward and modulation terms of the input projection have no recurrence:
	// compute them for every frame at once.
	pf := b.Conv(p, c.ProjFSpec(r.ffOut), w.projF, f, false) // [N, In, T, H, W]
	pm := b.Linear(b.Reshape(m, N*T, r.mod), w.projM, nil, r.mod, c.In)
	pm = b.Reshape(b.Transpose(b.Reshape(pm, N, T, c.In), 0, 2, 1), N, c.In, T, 1, 1)
	pf = b.BroadcastAdd(pf, pm, nil, []byte{3, 4})

	var h, cell *G.Node // [N, Hidden, 1, H, W], [N, Hidden, P]
	if st != nil {
		h = st.input(b, f, "core.recurrent.h", N, c.Hidden, 1, H, W)
		cell = st.input(b, f, "core.recurrent.c", N, c.Hidden, P)
	}
	// One Split rather than T Slices: its backward pass is one concatenation, where the
	// gradients of T slices would be T zero-padded full-size tensors summed (nn.Split).
	frames := []*G.Node{pf} // [N, In, 1, H, W] each
	if T > 1 {
		if frames = b.Split(pf, 2); len(frames) != T {
			return nil // the builder holds the error
		}
	}
	hs := make([]*G.Node, T)
	for t := range T {
		x := frames[t]
		if h != nil && w.projH != nil {
			x = b.Add(x, b.Conv3d(h, w.projH, nil, nn.ConvOpts{Groups: 1}))
		}
		x = b.Dropout(RecurrentDropoutX, b.Tanh(x))
		if h == nil {
			h = b.Fixed(f.Dtype(), nil, N, c.Hidden, 1, H, W)
		}
		xh := b.CatGroups(c.Groups, x, h)
		var in *G.Node
		if c.Type == CvtLSTM {
			z := b.Conv(p, c.ZSpec(), w.z, xh, false) // [N, Common, 1, H, W]
			gc := c.Common / c.Groups
			tok := func(wt *G.Node, name string) *G.Node {
				return b.Reshape(b.Conv(p, c.QKVSpec(name), wt, z, false), N, c.Groups, gc, P)
			}
			a := b.Attention(tok(w.q, "q"), tok(w.k, "k"), tok(w.v, "v"), w.scales)
			in = b.CatGroups(c.Groups, z, b.Reshape(a, N, c.Common, 1, H, W))
		} else {
			in = xh
		}
		k := c.GateSpecs()[0].KH
		gates := b.Conv3d(in, w.gates, w.gateB, nn.ConvOpts{Groups: c.Groups, PadH: (k - 1) / 2, PadW: (k - 1) / 2})
		var hNext *G.Node
		cell, hNext = b.LSTM(b.Reshape(gates, N, c.Groups, 4, c.Hidden/c.Groups, P), cell, c.Groups)
		h = b.Dropout(RecurrentDropoutH, b.Reshape(hNext, N, c.Hidden, 1, H, W)) // the dropped h is the state
		hs[t] = h
	}
	if st != nil {
		st.Out["core.recurrent.h"] = h
		st.Out["core.recurrent.c"] = cell
	}
	hAll := hs[0]
	if T > 1 {
		hAll = b.Concat(2, hs...)
	}
	return b.Conv(p, c.OutSpec(), w.out, hAll, false)
}
