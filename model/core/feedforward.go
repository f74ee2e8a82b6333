package core

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/fmcore/fmcore/model/nn"
)

// State carries what the streaming step needs from one frame to the next: the history
// of every causal temporal convolution (its last K−1 input frames) and the recurrent
// h and c. The step graph reads In and produces Out; the caller copies Out's values into
// In's before the next frame and zeros In at reset (MODEL.md 1.2). A nil *State means the
// whole window is computed at once (training and evaluation windows).
type State struct {
	In, Out map[string]*G.Node
	names   []string // in creation order, for a stable listing
}

// NewState returns an empty step state.
func NewState() *State { return &State{In: map[string]*G.Node{}, Out: map[string]*G.Node{}} }

// Names lists the state entries in creation order.
func (s *State) Names() []string { return s.names }

// input creates (once) the state input named name with the given shape.
func (s *State) input(b *nn.Builder, like *G.Node, name string, shape ...int) *G.Node {
	if n, ok := s.In[name]; ok {
		return n
	}
	n := G.NewTensor(b.Graph(), like.Dtype(), len(shape), G.WithShape(shape...), G.WithName("state."+name))
	s.In[name] = n
	s.names = append(s.names, name)
	return n
}

// Feedforward is the InputDense network of one stream (MODEL.md 4.3).
type Feedforward struct {
	cfg FeedforwardConfig
}

// NewFeedforward builds the feedforward core.
func NewFeedforward(cfg FeedforwardConfig) *Feedforward { return &Feedforward{cfg: cfg} }

// tconv applies a temporal convolution: causal over the whole window, or, in a step,
// valid over the K−1 remembered frames and the current one.
func (f *Feedforward) tconv(b *nn.Builder, p *nn.Params, st *State, spec nn.ConvSpec, w, x *G.Node) *G.Node {
	if st == nil || spec.KT == 1 || b.Err() != nil {
		return b.Conv(p, spec, w, x, false)
	}
	s := x.Shape()
	hist := st.input(b, x, spec.Name, s[0], s[1], spec.KT-1, s[3], s[4])
	all := b.Concat(2, hist, x) // [N, C, K, H, W], oldest first
	st.Out[spec.Name] = b.Slice(all, 2, 1, spec.KT)
	return b.Conv(p, spec, w, all, true)
}

// Forward runs the feedforward core:
//
//	x   [N, 1, T, H, W]     retinal images (T = 1 in a step)
//	out [N, Out, T, H', W']
func (f *Feedforward) Forward(b *nn.Builder, p *nn.Params, x *G.Node, st *State) *G.Node {
	defer b.Scope("core.feedforward")()
	c := f.cfg
	for blk := range c.Channels {
		in := c.InputSpec(blk)
		w := b.Weight(p, in)
		if blk == 0 {
			pad := (c.InputKernel - c.InputStride) / 2
			x = b.Conv3d(x, w, b.ConvBias(p, in), nn.ConvOpts{Groups: 1, StrideH: c.InputStride, StrideW: c.InputStride,
				PadH: pad, PadW: pad, Replicate: true})
		} else {
			x = b.Conv(p, in, w, x, false)
		}
		x = f.block(b, p, st, blk, x)
		if c.Pools[blk] == 2 {
			x = b.AvgPool2(x)
		}
	}
	out := c.OutSpec()
	return b.Conv(p, out, b.Weight(p, out), x, false)
}

// FeedforwardDropoutSite names the dropout of layer l's input in block blk.
func FeedforwardDropoutSite(blk, l int) string {
	return fmt.Sprintf("core.feedforward.blocks.%d.%d", blk, l)
}

// block is dense block blk: y_l = dropout(γ·f(x_l)); x_1 = conv_0(y_0);
// x_{l+1} = conv_l(y_l) + skip_l(cat_groups[y_0 … y_{l−1}]); out = cat_groups[x_0 … x_L].
func (f *Feedforward) block(b *nn.Builder, p *nn.Params, st *State, blk int, x0 *G.Node) *G.Node {
	c := f.cfg
	groups := c.Groups[blk]
	xs := []*G.Node{x0}
	var ys []*G.Node
	for l := range c.Layers[blk] {
		y := b.Dropout(FeedforwardDropoutSite(blk, l), b.Act(xs[l], c.Nonlinearity))
		ys = append(ys, y)
		spec := c.ConvLayerSpec(blk, l)
		next := f.tconv(b, p, st, spec, b.Weight(p, spec), y)
		if l > 0 {
			skip := c.SkipSpec(blk, l)
			next = b.Add(next, b.Conv(p, skip, b.Weight(p, skip), b.CatGroups(groups, ys[:l]...), false))
		}
		xs = append(xs, next)
	}
	return b.CatGroups(groups, xs...)
}
