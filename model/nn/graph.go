package nn

import (
	"fmt"
	"slices"

	"github.com/fmcore/fmcore/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The tensor operations: each checks its shapes first (gorgonia's own messages name no module
// and some of its ops panic), then records any failure in the Builder's sticky error, so module
// code never handles errors. Pow and MatMul are gorgonia's own ops. Reshape, Transpose, Slice,
// Split, Concat, CatGroups, Sum and Mean are fmcore ops, because gorgonia's versions compute
// wrong values or alias memory (copy.go, reshape.go) or cost time quadratic in the pieces
// (split.go); the elementwise arithmetic, the Broadcast methods and the elementwise functions
// are fmcore ops because gorgonia's run on one core and copy every broadcast operand (arith.go).

// Add returns x + y elementwise; x and y have the same shape, or one of them is a scalar.
func (b *Builder) Add(x, y *G.Node) *G.Node { return b.elementwise(kernels.Add, x, y) }

// Sub returns x − y elementwise (same shapes, or one a scalar).
func (b *Builder) Sub(x, y *G.Node) *G.Node { return b.elementwise(kernels.Sub, x, y) }

// Mul returns x ⊙ y elementwise (same shapes, or one a scalar).
func (b *Builder) Mul(x, y *G.Node) *G.Node { return b.elementwise(kernels.Mul, x, y) }

// Div returns x / y elementwise (same shapes, or one a scalar).
func (b *Builder) Div(x, y *G.Node) *G.Node { return b.elementwise(kernels.Div, x, y) }

// Pow returns x^y elementwise (same shapes, or one a scalar), e.g. the retina's learned power
// (MODEL.md 4.1 step 6).
func (b *Builder) Pow(x, y *G.Node) *G.Node { return b.binary("pow", x, y, G.Pow) }

// binary checks the shapes of an elementwise operation and applies fn.
func (b *Builder) binary(op string, x, y *G.Node, fn func(x, y *G.Node) (*G.Node, error)) *G.Node {
	return b.step(op, []arg{need("x", x), need("y", y)}, func() (*G.Node, error) {
		if !sameShape(x.Shape(), y.Shape()) && !x.IsScalar() && !y.IsScalar() {
			return nil, shapeErr("shapes differ and neither is a scalar (use a Broadcast method)")
		}
		return fn(x, y)
	})
}

// BroadcastAdd returns x + y with broadcasting: x and y have the same rank and equal sizes
// except along the axes of leftPattern, where x has size 1 and is repeated to y's size, and of
// rightPattern, where y has size 1 and is repeated to x's. Any rank works. Example, a bias over
// an NCTHW map: BroadcastAdd(x [N,C,T,H,W], b [1,C,1,1,1], nil, []byte{0, 2, 3, 4}). The
// repeated operand is materialised by a kernel op (see copy.go for why not gorgonia's
// broadcasting).
func (b *Builder) BroadcastAdd(x, y *G.Node, leftPattern, rightPattern []byte) *G.Node {
	return b.broadcast("broadcastadd", x, y, leftPattern, rightPattern, kernels.Add)
}

// BroadcastSub is BroadcastAdd for x − y.
func (b *Builder) BroadcastSub(x, y *G.Node, leftPattern, rightPattern []byte) *G.Node {
	return b.broadcast("broadcastsub", x, y, leftPattern, rightPattern, kernels.Sub)
}

// BroadcastMul is BroadcastAdd for x ⊙ y.
func (b *Builder) BroadcastMul(x, y *G.Node, leftPattern, rightPattern []byte) *G.Node {
	return b.broadcast("broadcastmul", x, y, leftPattern, rightPattern, kernels.Mul)
}

// BroadcastDiv is BroadcastAdd for x / y.
func (b *Builder) BroadcastDiv(x, y *G.Node, leftPattern, rightPattern []byte) *G.Node {
	return b.broadcast("broadcastdiv", x, y, leftPattern, rightPattern, kernels.Div)
}

// broadcast checks the patterns and applies op with x repeated along leftPattern and y along
// rightPattern, reading the repeated operand in place (arith).
func (b *Builder) broadcast(name string, x, y *G.Node, left, right []byte, op kernels.BinaryOp) *G.Node {
	return b.step(name, []arg{need("x", x), need("y", y)}, func() (*G.Node, error) {
		out, lax, rax, err := broadcastShape(x.Shape(), y.Shape(), left, right)
		if err != nil {
			return nil, err
		}
		return b.arith(op, x, y, lax, rax, out)
	})
}

// MatMul returns the matrix product x·y of x [m, k] and y [k, n].
func (b *Builder) MatMul(x, y *G.Node) *G.Node {
	return b.step("matmul", []arg{need("x", x), need("y", y)}, func() (*G.Node, error) {
		xs, ys := x.Shape(), y.Shape()
		if len(xs) != 2 || len(ys) != 2 || xs[1] != ys[0] {
			return nil, shapeErr("want x [m, k] and y [k, n]")
		}
		return G.Mul(x, y)
	})
}

// Tanh returns tanh(x) elementwise.
func (b *Builder) Tanh(x *G.Node) *G.Node { return b.function(kernels.Tanh, x) }

// Sigmoid returns 1/(1 + e^−x) elementwise.
func (b *Builder) Sigmoid(x *G.Node) *G.Node { return b.function(kernels.Sigmoid, x) }

// Exp returns e^x elementwise.
func (b *Builder) Exp(x *G.Node) *G.Node { return b.function(kernels.Exp, x) }

// Log returns the natural logarithm of x elementwise.
func (b *Builder) Log(x *G.Node) *G.Node { return b.function(kernels.Log, x) }

// Neg returns −x.
func (b *Builder) Neg(x *G.Node) *G.Node { return b.function(kernels.Neg, x) }

// Square returns x² elementwise.
func (b *Builder) Square(x *G.Node) *G.Node { return b.function(kernels.Square, x) }

// Sqrt returns √x elementwise.
func (b *Builder) Sqrt(x *G.Node) *G.Node { return b.function(kernels.Sqrt, x) }

// Cos returns cos(x) elementwise.
func (b *Builder) Cos(x *G.Node) *G.Node { return b.function(kernels.Cos, x) }

// Sin returns sin(x) elementwise.
func (b *Builder) Sin(x *G.Node) *G.Node { return b.function(kernels.Sin, x) }

// Relu returns max(x, 0) elementwise.
func (b *Builder) Relu(x *G.Node) *G.Node { return b.function(kernels.Relu, x) }

// Scale returns s·x.
func (b *Builder) Scale(x *G.Node, s float64) *G.Node {
	return b.Mul(x, b.Constant(s, x))
}

// ClampMin returns max(x, lo) elementwise, as lo + relu(x − lo), so the gradient is 1 above lo
// and 0 below (the monitor intersection's clipped denominator, MODEL.md 4.1 step 4).
func (b *Builder) ClampMin(x *G.Node, lo float64) *G.Node {
	c := b.Constant(lo, x)
	return b.Add(b.Relu(b.Sub(x, c)), c)
}

// Act returns the nonlinearity n of x times its fixed gamma (MODEL.md 1.4): γ·gelu (the GELU
// kernel), γ·x·σ(x), γ·elu(x), γ·tanh(x), or x itself for identity.
func (b *Builder) Act(x *G.Node, n Nonlinearity) *G.Node {
	if b.err != nil {
		return nil
	}
	if err := n.Validate(); err != nil {
		b.fail("act", []arg{need("x", x)}, err)
		return nil
	}
	switch n {
	case GELU:
		return b.GELU(x)
	case SiLU:
		return b.Scale(b.Mul(x, b.Sigmoid(x)), n.Gamma())
	case ELU:
		// elu(x) = relu(x) + (e^{min(x, 0)} − 1), with min(x, 0) = −relu(−x).
		e := b.function(kernels.Expm1, b.Neg(b.Relu(b.Neg(x))))
		return b.Scale(b.Add(b.Relu(x), e), n.Gamma())
	case Tanh:
		return b.Scale(b.Tanh(x), n.Gamma())
	}
	return x
}

// Reshape returns x with a new shape of the same size. It copies nothing when x is read by
// nothing else after it; otherwise it copies, because gorgonia's in-place operations would
// write through a shared buffer into x (see reshapeOp).
func (b *Builder) Reshape(x *G.Node, shape ...int) *G.Node {
	return b.step("reshape", []arg{need("x", x)}, func() (*G.Node, error) {
		s := tensor.Shape(shape)
		if s.TotalSize() != x.Shape().TotalSize() {
			return nil, shapeErr("cannot reshape to %v: sizes differ", shape)
		}
		if sameShape(s, x.Shape()) {
			return x, nil
		}
		return b.reshape(x, s.Clone())
	})
}

// Transpose returns x with its axes permuted: output axis i is input axis axes[i], as a copy (a
// kernel op, kernels.PermuteCopy; its gradient is the inverse permutation).
func (b *Builder) Transpose(x *G.Node, axes ...int) *G.Node {
	return b.step("transpose", []arg{need("x", x)}, func() (*G.Node, error) {
		if !isPermutation(axes, x.Dims()) {
			return nil, shapeErr("axes %v are not a permutation of %d axes", axes, x.Dims())
		}
		p, err := kernels.NewPermute(x.Shape(), axes)
		if err != nil {
			return nil, kernelShapeErr{err}
		}
		return b.permute(x, p)
	})
}

// permute applies p to x.
func (b *Builder) permute(x *G.Node, p kernels.Permute) (*G.Node, error) {
	inv := p.Inverse()
	return b.kernel(kernelSpec{
		name: "transpose", params: fmt.Sprintf("%v", p.Perm), out: tensor.Shape(inv.Shape).Clone(),
		run32: permuteRun[float32](p), run64: permuteRun[float64](p),
		grad: func(b *Builder, _ []*G.Node, _, dy *G.Node, _ []bool) []*G.Node {
			return []*G.Node{b.step("transpose.dx", []arg{need("dy", dy)}, func() (*G.Node, error) {
				return b.permute(dy, inv)
			})}
		},
	}, x)
}

func permuteRun[T kernels.Float](p kernels.Permute) runFn[T] {
	return func(ws *kernels.Workspace, in [][]T, out []T) error {
		return kernels.PermuteCopy(p, ws, in[0], out)
	}
}

// isPermutation reports whether axes holds each of 0 … n−1 once.
func isPermutation(axes []int, n int) bool {
	if len(axes) != n {
		return false
	}
	s := slices.Clone(axes)
	slices.Sort(s)
	for i, a := range s {
		if a != i {
			return false
		}
	}
	return true
}

// Slice returns elements [start, end) of x along axis, keeping the axis (also when end − start
// is 1), as a copy (a kernel op: gorgonia's Slice merges distinct slices, see copy.go).
func (b *Builder) Slice(x *G.Node, axis, start, end int) *G.Node {
	return b.step("slice", []arg{need("x", x)}, func() (*G.Node, error) {
		xs := x.Shape()
		if axis < 0 || axis >= len(xs) || start < 0 || end > xs[axis] || start >= end {
			return nil, shapeErr("cannot take [%d, %d) of axis %d", start, end, axis)
		}
		if start == 0 && end == xs[axis] {
			return x, nil
		}
		outer, inner := prodOf(xs[:axis]), prodOf(xs[axis+1:])
		want := xs.Clone()
		want[axis] = end - start
		w := (end - start) * inner
		return b.copyCols(x, kernels.ColCopy{Rows: outer, In: xs[axis] * inner, Out: w, Src: start * inner, Width: w}, want)
	})
}

// Concat joins xs along axis; they agree on every other axis.
func (b *Builder) Concat(axis int, xs ...*G.Node) *G.Node {
	return b.step("concat", listArgs(xs), func() (*G.Node, error) {
		if len(xs) == 0 {
			return nil, shapeErr("nothing to concatenate")
		}
		s0 := xs[0].Shape()
		if axis < 0 || axis >= len(s0) {
			return nil, shapeErr("axis %d out of range", axis)
		}
		for i, x := range xs[1:] {
			s := x.Shape()
			if len(s) != len(s0) {
				return nil, shapeErr("x%d has rank %d, x0 %d", i+1, len(s), len(s0))
			}
			for a := range s {
				if a != axis && s[a] != s0[a] {
					return nil, shapeErr("x%d differs from x0 on axis %d", i+1, a)
				}
			}
		}
		if len(xs) == 1 {
			return xs[0], nil
		}
		outer, inner := prodOf(s0[:axis]), prodOf(s0[axis+1:])
		widths := make([]int, len(xs))
		out := s0.Clone()
		out[axis] = 0
		for i, x := range xs {
			widths[i] = x.Shape()[axis] * inner
			out[axis] += x.Shape()[axis]
		}
		return b.concatCols(xs, outer, widths, out)
	})
}

// prodOf returns the product of the sizes, 1 for none.
func prodOf(s []int) int {
	p := 1
	for _, n := range s {
		p *= n
	}
	return p
}

// CatGroups joins xs [N, C_i, …] along axis 1 interleaved by groups (MODEL.md 1.5, cat_groups):
// for each group g, chunk g of xs[0], then chunk g of xs[1], and so on; each C_i must divide by
// groups. With one group it is Concat along axis 1.
func (b *Builder) CatGroups(groups int, xs ...*G.Node) *G.Node {
	return b.step("catgroups", listArgs(xs), func() (*G.Node, error) {
		if len(xs) == 0 || groups < 1 {
			return nil, shapeErr("need inputs and groups ≥ 1, got %d inputs, %d groups", len(xs), groups)
		}
		s0 := xs[0].Shape()
		if len(s0) < 2 {
			return nil, shapeErr("inputs must be [N, C, …]")
		}
		rest := prodOf(s0[2:])
		total := 0
		widths := make([]int, len(xs))
		for i, x := range xs {
			s := x.Shape()
			if len(s) != len(s0) || s[0] != s0[0] || !sameShape(tensor.Shape(s[2:]), tensor.Shape(s0[2:])) {
				return nil, shapeErr("x%d differs from x0 outside axis 1", i)
			}
			if s[1]%groups != 0 {
				return nil, shapeErr("x%d has %d channels, not divisible by %d groups", i, s[1], groups)
			}
			total += s[1]
			// x_i viewed as [N·G, C_i/G·rest]: row (n, g) is group g's chunk of sample n.
			widths[i] = s[1] / groups * rest
		}
		if len(xs) == 1 {
			return xs[0], nil
		}
		out := s0.Clone()
		out[1] = total
		return b.concatCols(xs, s0[0]*groups, widths, out)
	})
}

// listArgs names the inputs of an n-ary operation x0, x1, ….
func listArgs(xs []*G.Node) []arg {
	out := make([]arg, len(xs))
	for i, x := range xs {
		out[i] = need(fmt.Sprintf("x%d", i), x)
	}
	return out
}

// Sum returns the sum of x over axes, which are removed; no axes sums everything to a scalar.
// It is a kernel op accumulating in float64 (see copy.go for why not gorgonia's Sum).
func (b *Builder) Sum(x *G.Node, axes ...int) *G.Node {
	return b.reduce("sum", x, axes, false)
}

// Mean returns the mean of x over axes, which are removed; no axes averages everything.
func (b *Builder) Mean(x *G.Node, axes ...int) *G.Node {
	return b.reduce("mean", x, axes, true)
}

// reduce checks the axes of a reduction and sums, divided by the count for a mean.
func (b *Builder) reduce(op string, x *G.Node, axes []int, mean bool) *G.Node {
	return b.step(op, []arg{need("x", x)}, func() (*G.Node, error) {
		seen := map[int]bool{}
		for _, a := range axes {
			if a < 0 || a >= x.Dims() || seen[a] {
				return nil, shapeErr("axes %v: out of range or repeated", axes)
			}
			seen[a] = true
		}
		if len(axes) == 0 {
			for a := range x.Dims() {
				axes = append(axes, a)
			}
		}
		scale, count := 1.0, 1
		for _, a := range axes {
			count *= x.Shape()[a]
		}
		if mean {
			scale = 1 / float64(count)
		}
		return b.sumAxes(x, axes, scale, nil)
	})
}

// Constant returns a scalar constant with value of like's dtype; gorgonia broadcasts it in the
// elementwise operations. It needs no gradient.
func (b *Builder) Constant(value float64, like *G.Node) *G.Node {
	return b.step("constant", []arg{need("like", like)}, func() (*G.Node, error) {
		var c *G.Node
		if like.Dtype() == tensor.Float32 {
			c = G.NewConstant(float32(value), G.In(b.g))
		} else {
			c = G.NewConstant(value, G.In(b.g))
		}
		b.noGrad[c] = true
		return c, nil
	})
}

// sameShape reports whether a and b have the same rank and sizes. tensor.Shape.Eq is
// looser: it calls a row vector (1, n) equal to (n), which would make Reshape(x, 1, n) of
// an (n) vector a no-op.
func sameShape(a, b tensor.Shape) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
