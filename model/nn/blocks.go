package nn

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Weight returns the layer's effective weight [Out, In/Groups, KT, KH, KW]: the raw
// weight, standardised with its gain when the spec says so (MODEL.md 1.4). Call it once
// per sequence and reuse the node for every frame: that is the reference's per-sequence
// cache, without its staleness (MODEL.md 13).
func (b *Builder) Weight(p *Params, c ConvSpec) *G.Node {
	w := p.Get(c.Name + ".weight")
	if !c.Standardized {
		return w
	}
	var gain *G.Node
	if c.Gain != 0 {
		gain = p.Get(c.Name + ".gain")
	}
	return b.WeightStd(w, gain)
}

// ConvBias returns the layer's bias node, or nil when it has none.
func (b *Builder) ConvBias(p *Params, c ConvSpec) *G.Node {
	if !c.Bias {
		return nil
	}
	return p.Get(c.Name + ".bias")
}

// Conv applies layer c with effective weight w (from Weight) to x [N, C, T, H, W].
// Spatial padding is "same" for odd kernels ((k−1)/2), zero-filled.
func (b *Builder) Conv(p *Params, c ConvSpec, w, x *G.Node, valid bool) *G.Node {
	return b.Conv3d(x, w, b.ConvBias(p, c), ConvOpts{Groups: c.Groups, PadH: (c.KH - 1) / 2, PadW: (c.KW - 1) / 2, Valid: valid})
}

// Linear applies a linear layer with effective weight w [Out, In, 1, 1, 1] and optional
// bias [Out] to x [M, In], giving [M, Out].
func (b *Builder) Linear(x, w, bias *G.Node, in, out int) *G.Node {
	y := b.MatMul(x, b.Transpose(b.Reshape(w, out, in), 1, 0))
	if bias == nil {
		return y
	}
	return b.BroadcastAdd(y, b.Reshape(bias, 1, out), nil, []byte{0})
}

// AddConst returns x + c for a scalar c.
func (b *Builder) AddConst(x *G.Node, c float64) *G.Node { return b.Add(x, b.Constant(c, x)) }

// Fixed returns a constant tensor [shape] of dtype dt holding v (zeros when v is nil):
// fixed geometry such as the retina grid, or a zero initial state. It gets no gradient.
//
// The node is named by its shape and a hash of its values: gorgonia merges constants by
// name before it looks at hashes (ExprGraph.AddNode), and its default name, the printed
// tensor, elides the middle of large tensors, so that a zero [24, 16] and a zero [16, 16]
// would become one node.
func (b *Builder) Fixed(dt tensor.Dtype, v []float64, shape ...int) *G.Node {
	if b.err != nil {
		return nil
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	if v != nil && len(v) != n {
		b.fail("fixed", nil, fmt.Errorf("%d values for shape %v: %w", len(v), shape, ErrShape))
		return nil
	}
	var t tensor.Tensor
	if dt == tensor.Float32 {
		d := make([]float32, n)
		for i := range v {
			d[i] = float32(v[i])
		}
		t = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
	} else {
		d := make([]float64, n)
		copy(d, v)
		t = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
	}
	h := fnv.New64a()
	binary.Write(h, binary.LittleEndian, v) // a hash.Hash never fails to write
	c := G.NewConstant(t, G.In(b.g), G.WithName(fmt.Sprintf("fixed%v %v %016x", dt, shape, h.Sum64())))
	b.noGrad[c] = true
	return c
}
