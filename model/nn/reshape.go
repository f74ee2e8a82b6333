package nn

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// reshapeOp replaces gorgonia's Reshape, which is unsafe on a TapeMachine: its result is a
// shallow clone sharing the input's memory but held in a register of its own, so an in-place op
// later writing that register (gorgonia's elementwise ops overwrite a dead input) also
// overwrites the input, which may still be live or be a graph input. Measured: with
// G.Reshape(x) feeding G.Add, every run added into x itself, and finite differences through it
// came out zero.
//
// reshapeOp is free when gorgonia lets it work in place, that is when the input is read by
// nothing after it: the register allocator then gives it the input's register (OverwritesInput
// 0) and the machine calls UsePreallocDo with the input's own value, whose memory the result may
// share. Otherwise Do copies. Either way no register aliases memory another live register holds.
type reshapeOp struct {
	from, to tensor.Shape
}

// reshape returns x viewed with shape to (the sizes agree; the caller checked).
func (b *Builder) reshape(x *G.Node, to tensor.Shape) (*G.Node, error) {
	return G.ApplyOp(reshapeOp{from: x.Shape(), to: to.Clone()}, x)
}

// Arity returns 1.
func (op reshapeOp) Arity() int { return 1 }

// Type returns a tensor of rank len(from) → a tensor of rank len(to), same dtype.
func (op reshapeOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	typeOf := func(s tensor.Shape) hm.Type {
		if len(s) == 0 {
			return a
		}
		return G.TensorType{Dims: len(s), Of: a}
	}
	return hm.NewFnType(typeOf(op.from), typeOf(op.to))
}

// InferShape returns the new shape.
func (op reshapeOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	if len(ds) != 1 {
		return nil, fmt.Errorf("reshape: %d inputs, want 1", len(ds))
	}
	return op.to.Clone(), nil
}

// Do returns a reshaped copy of the input.
func (op reshapeOp) Do(vals ...G.Value) (G.Value, error) {
	d, err := op.dense(vals)
	if err != nil {
		return nil, err
	}
	var c *tensor.Dense
	var ok bool
	if d.IsMaterializable() {
		m, ok := d.Materialize().(*tensor.Dense) // a contiguous copy of the view
		if !ok {
			return nil, fmt.Errorf("reshape: materialised view is not dense")
		}
		c = m
	} else if c, ok = d.Clone().(*tensor.Dense); !ok {
		return nil, fmt.Errorf("reshape: clone is not dense")
	}
	if err := c.Reshape(op.to...); err != nil {
		return nil, fmt.Errorf("reshape: %w", err)
	}
	return c, nil
}

// UsePreallocDo reshapes in place when the machine hands over the input's own value (the
// register allocator gave the op the input's register, so nothing reads the input later): the
// result is a new header on the same memory. Any other preallocated value gets a copy.
func (op reshapeOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	d, err := op.dense(vals)
	if err != nil {
		return nil, err
	}
	if p, ok := prealloc.(*tensor.Dense); !ok || p != d || d.RequiresIterator() || d.DataSize() != d.Shape().TotalSize() {
		return op.Do(vals...)
	}
	v := d.ShallowClone()
	if err := v.Reshape(op.to...); err != nil {
		return nil, fmt.Errorf("reshape: %w", err)
	}
	return v, nil
}

// dense checks the single input value.
func (op reshapeOp) dense(vals []G.Value) (*tensor.Dense, error) {
	if len(vals) != 1 {
		return nil, fmt.Errorf("reshape: %d inputs, want 1", len(vals))
	}
	d, ok := vals[0].(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("reshape: value of type %T, want a dense tensor", vals[0])
	}
	if !sameShape(d.Shape(), op.from) {
		return nil, fmt.Errorf("reshape: input shape %v, built for %v", d.Shape(), op.from)
	}
	return d, nil
}

// ReturnsPtr is true: the result may share the input's memory (in place only).
func (op reshapeOp) ReturnsPtr() bool { return true }

// CallsExtern is false.
func (op reshapeOp) CallsExtern() bool { return false }

// OverwritesInput is 0: the op may take over its input's register.
func (op reshapeOp) OverwritesInput() int { return 0 }

// WriteHash writes both shapes.
func (op reshapeOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "fmcore.reshape %v → %v", op.from, op.to)
}

// Hashcode returns the FNV-1a hash of WriteHash.
func (op reshapeOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// String names the op.
func (op reshapeOp) String() string { return fmt.Sprintf("reshape%v", []int(op.to)) }

// DiffWRT reports that the input gets a gradient.
func (op reshapeOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff reshapes the gradient back.
func (op reshapeOp) SymDiff(inputs G.Nodes, _, dy *G.Node) (G.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("reshape: %d inputs, want 1", len(inputs))
	}
	g, err := G.ApplyOp(reshapeOp{from: op.to, to: op.from}, dy)
	if err != nil {
		return nil, err
	}
	return G.Nodes{g}, nil
}
