package nn

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/fmcore/fmcore/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Split cuts a tensor into its K pieces along one axis (the recurrent core's frames) so that the
// backward pass costs one concatenation, O(size of x), instead of O(K·size of x).
//
// With K Slices of x, gorgonia gives each slice's gradient the full shape of x (zero outside the
// slice) and sums the K of them with K−1 elementwise additions (differentiation.go, ReduceAdd):
// for the 60 frames of a training window that is 60 full-size zero-padded copies and 59
// full-size additions, quadratic in the window length. Split's pieces instead hand their
// gradients to one concatenation: the piece whose gradient gorgonia builds last (they are
// visited in reverse topological order, all before x) returns concat(dpiece_0 … dpiece_{K−1})
// as the gradient of x, and the others return none (their DiffWRT turns false once their
// gradient is recorded). x then has a single gradient term and no addition is built.
//
// The pieces that gorgonia visits are those that affect the differentiated output. Split
// counts, when the first piece is visited, the pieces that have a consumer, and expects those;
// a piece with a consumer that does not affect the output (read only by a non-differentiable
// input) leaves x without a gradient, and G.Grad fails with "No gradients found for node"
// rather than computing a wrong one. Pieces nobody reads get a zero block.

// Split returns the K = x.Shape()[axis] pieces of x along axis, each keeping the axis with size
// 1 (piece k is Slice(x, axis, k, k+1)). The pieces are copies; the gradient of x is one
// concatenation of the pieces' gradients (see above). Use every piece or none in the
// differentiated graph.
func (b *Builder) Split(x *G.Node, axis int) []*G.Node {
	out := b.stepN("split", []arg{need("x", x)}, func() ([]*G.Node, error) {
		xs := x.Shape()
		if axis < 0 || axis >= len(xs) {
			return nil, shapeErr("axis %d out of range", axis)
		}
		k := xs[axis]
		outer, inner := prodOf(xs[:axis]), prodOf(xs[axis+1:])
		piece := xs.Clone()
		piece[axis] = 1
		b.splits++
		grp := &splitGroup{id: b.splits, shape: xs.Clone(), axis: axis, outer: outer, inner: inner, pieces: make([]*G.Node, k),
			grads: make([]*G.Node, k), seen: make([]bool, k), trigger: -1, expect: -1}
		for i := range k {
			c := kernels.ColCopy{Rows: outer, In: k * inner, Out: inner, Src: i * inner, Width: inner}
			if err := c.Validate(); err != nil {
				return nil, kernelShapeErr{err}
			}
			op := &kernelOp{kernelSpec: kernelSpec{name: "split", params: fmt.Sprintf("%+v", c), out: piece.Clone(),
				run32: copyRun[float32](c), run64: copyRun[float64](c)},
				ws: b.ws, in: []tensor.Shape{xs.Clone()}, wrt: []bool{b.needsGrad(x)}}
			b.shared.claim(op)
			n, err := G.ApplyOp(&pieceOp{kernelOp: op, group: grp, index: i}, x)
			if err != nil {
				return nil, err
			}
			grp.pieces[i] = n
		}
		return grp.pieces, nil
	})
	return out
}

// splitGroup is the state the pieces of one Split share while G.Grad builds their gradients.
type splitGroup struct {
	id           int          // the Split's number in its Builder, which the pieces' hashes carry
	shape        tensor.Shape // of x
	axis         int
	outer, inner int
	pieces       []*G.Node
	grads        []*G.Node // the gradient of each piece, as gorgonia hands it over
	seen         []bool    // piece's gradient recorded
	expect       int       // pieces that will be visited; −1 before the first visit
	visited      int
	trigger      int // the piece that returned the concatenation; −1 before
}

// pieceOp is the kernel op of one piece: a column copy whose gradient goes through its group.
type pieceOp struct {
	*kernelOp
	group *splitGroup
	index int
}

// DiffWRT is true before the piece's gradient is recorded, and afterwards only for the piece
// that returned the concatenation.
func (op *pieceOp) DiffWRT(n int) []bool {
	out := op.kernelOp.DiffWRT(n)
	g := op.group
	if g.seen[op.index] && g.trigger != op.index {
		out[0] = false
	}
	return out
}

// SymDiff records dy; the last expected piece returns the concatenation of all of them.
func (op *pieceOp) SymDiff(inputs G.Nodes, output, dy *G.Node) (G.Nodes, error) {
	g := op.group
	if len(inputs) != 1 {
		return nil, fmt.Errorf("split: %d inputs, want 1", len(inputs))
	}
	if !op.wrt[0] {
		return G.Nodes{nil}, nil
	}
	if g.seen[op.index] {
		return nil, fmt.Errorf("split: piece %d differentiated twice", op.index)
	}
	if g.expect < 0 {
		for _, p := range g.pieces {
			if output.Graph().To(p.ID()).Len() > 0 {
				g.expect++
			}
		}
		g.expect++ // from −1
	}
	g.seen[op.index] = true
	g.grads[op.index] = dy
	g.visited++
	if g.visited < g.expect {
		return G.Nodes{nil}, nil
	}
	b := &Builder{g: output.Graph(), ws: op.ws, path: "gradient of split", noGrad: map[*G.Node]bool{}, shared: op.shared}
	parts := make([]*G.Node, len(g.grads))
	widths := make([]int, len(g.grads))
	piece := g.shape.Clone()
	piece[g.axis] = 1
	for i, d := range g.grads {
		if d == nil {
			d = b.Fixed(dy.Dtype(), nil, piece...)
		}
		parts[i] = d
		widths[i] = g.inner
	}
	var dx *G.Node
	if len(parts) == 1 {
		dx = parts[0]
	} else {
		var err error
		if dx, err = b.concatCols(parts, g.outer, widths, g.shape.Clone()); err != nil {
			return nil, fmt.Errorf("split: %w", err)
		}
	}
	if b.err != nil {
		return nil, b.err
	}
	g.trigger = op.index
	return G.Nodes{dx}, nil
}

// WriteHash adds the group's number and the index to the kernel op's hash: pieces of
// different Splits must never be merged. (A number, not the group's address, keeps a
// graph's hashes the same from run to run.)
func (op *pieceOp) WriteHash(h hash.Hash) {
	op.kernelOp.WriteHash(h)
	fmt.Fprintf(h, " split %d piece %d", op.group.id, op.index)
}

// Hashcode returns the FNV-1a hash of WriteHash.
func (op *pieceOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// String names the piece.
func (op *pieceOp) String() string { return fmt.Sprintf("split[%d]", op.index) }
