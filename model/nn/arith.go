package nn

import (
	"github.com/fmcore/fmcore/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Elementwise arithmetic and functions as kernel ops (kernels.Binary, kernels.Unary): spread
// over the workspace's workers, with broadcast operands read in place instead of materialised,
// and gradients from further kernel ops. gorgonia's own versions run on one core and copy every
// broadcast operand and every output; the perspective module's geometry and the readout are made
// of them (docs/PERFORMANCE.md "Network").

// arith returns z = x ∘ y with x repeated along the axes repX of out (x has size 1 there, or is
// a scalar when repX lists every axis) and y along repY. Its gradient sums over the repeated
// axes.
func (b *Builder) arith(op kernels.BinaryOp, x, y *G.Node, repX, repY []int, out tensor.Shape) (*G.Node, error) {
	bc, err := kernels.NewBroadcast(out, repX, repY)
	if err != nil {
		return nil, kernelShapeErr{err}
	}
	lo, lx, ly := bc.Lens()
	if lo != out.TotalSize() || lx != x.Shape().TotalSize() || ly != y.Shape().TotalSize() {
		return nil, shapeErr("%v of %v and %v into %v: sizes do not fit the repeated axes %v and %v",
			op, []int(x.Shape()), []int(y.Shape()), []int(out), repX, repY)
	}
	repX, repY = append([]int(nil), repX...), append([]int(nil), repY...)
	out = out.Clone()
	return b.kernel(kernelSpec{
		name: op.String(), params: bc.String(), out: out,
		run32: binaryRun[float32](op, bc), run64: binaryRun[float64](op, bc),
		grad: func(b *Builder, ins []*G.Node, z, dz *G.Node, wrt []bool) []*G.Node {
			return arithGrad(b, op, ins[0], ins[1], z, dz, repX, repY, out, wrt)
		},
	}, x, y)
}

func binaryRun[T kernels.Float](op kernels.BinaryOp, bc kernels.Broadcast) runFn[T] {
	return func(ws *kernels.Workspace, in [][]T, out []T) error {
		return kernels.Binary(op, bc, ws, in[0], in[1], out)
	}
}

// arithGrad builds the gradients of z = x ∘ y:
//
//	add  dx = Σ dz,           dy = Σ dz
//	sub  dx = Σ dz,           dy = −Σ dz
//	mul  dx = Σ dz·y,         dy = Σ dz·x
//	div  dx = Σ dz/y,         dy = −Σ dz·z/y
//
// each sum over the axes along which that operand was repeated (none: no sum).
func arithGrad(b *Builder, op kernels.BinaryOp, x, y, z, dz *G.Node, repX, repY []int, out tensor.Shape, wrt []bool) []*G.Node {
	grads := make([]*G.Node, 2)
	name := op.String()
	if wrt[0] {
		grads[0] = b.step(name+".dx", []arg{need("dz", dz)}, func() (*G.Node, error) {
			d := dz
			var err error
			switch op {
			case kernels.Mul, kernels.Div:
				if d, err = b.arith(op, dz, y, nil, repY, out); err != nil {
					return nil, err
				}
			}
			return b.reduceTo(d, repX, 1, x.Shape())
		})
	}
	if wrt[1] {
		grads[1] = b.step(name+".dy", []arg{need("dz", dz)}, func() (*G.Node, error) {
			d, scale := dz, 1.0
			var err error
			switch op {
			case kernels.Sub:
				scale = -1
			case kernels.Mul:
				if d, err = b.arith(kernels.Mul, dz, x, nil, repX, out); err != nil {
					return nil, err
				}
			case kernels.Div:
				if d, err = b.arith(kernels.Mul, dz, z, nil, nil, out); err != nil {
					return nil, err
				}
				if d, err = b.arith(kernels.Div, d, y, nil, repY, out); err != nil {
					return nil, err
				}
				scale = -1
			}
			return b.reduceTo(d, repY, scale, y.Shape())
		})
	}
	return grads
}

// reduceTo returns scale·d summed over axes, with the given shape: d itself when there is
// nothing to do, −d by a kernel op when only the sign changes.
func (b *Builder) reduceTo(d *G.Node, axes []int, scale float64, shape tensor.Shape) (*G.Node, error) {
	if len(axes) == 0 {
		if scale == 1 {
			return d, nil
		}
		return b.unaryKernel(kernels.Neg, d)
	}
	if shape.IsScalar() {
		shape = nil // the sum of every axis is a scalar
	}
	return b.sumAxes(d, axes, scale, shape)
}

// allAxes lists 0 … n−1.
func allAxes(n int) []int {
	a := make([]int, n)
	for i := range a {
		a[i] = i
	}
	return a
}

// unaryKernel returns f(x) elementwise (kernels.Unary); its gradient is dy·f' by
// kernels.UnaryBackward, reading x or f(x).
func (b *Builder) unaryKernel(op kernels.UnaryOp, x *G.Node) (*G.Node, error) {
	return b.kernel(kernelSpec{
		name: op.String(), out: x.Shape().Clone(),
		run32: unaryRun[float32](op), run64: unaryRun[float64](op),
		grad: func(b *Builder, ins []*G.Node, y, dy *G.Node, _ []bool) []*G.Node {
			src := ins[0]
			if kernels.UnaryUsesOutput(op) {
				src = y
			}
			name := op.String() + ".dx"
			return []*G.Node{b.step(name, []arg{need("src", src), need("dy", dy)}, func() (*G.Node, error) {
				return b.kernel(kernelSpec{name: name, out: ins[0].Shape().Clone(),
					run32: unaryBackRun[float32](op), run64: unaryBackRun[float64](op)}, src, dy)
			})}
		},
	}, x)
}

func unaryRun[T kernels.Float](op kernels.UnaryOp) runFn[T] {
	return func(ws *kernels.Workspace, in [][]T, out []T) error {
		return kernels.Unary(op, ws, in[0], out)
	}
}

// unaryBackRun reads (src, dy): src is x or y as kernels.UnaryUsesOutput says.
func unaryBackRun[T kernels.Float](op kernels.UnaryOp) runFn[T] {
	return func(ws *kernels.Workspace, in [][]T, out []T) error {
		if kernels.UnaryUsesOutput(op) {
			return kernels.UnaryBackward(op, ws, nil, in[0], in[1], out)
		}
		return kernels.UnaryBackward(op, ws, in[0], nil, in[1], out)
	}
}

// elementwise checks the shapes of x ∘ y (same shape, or one of them a scalar) and builds it.
func (b *Builder) elementwise(op kernels.BinaryOp, x, y *G.Node) *G.Node {
	return b.step(op.String(), []arg{need("x", x), need("y", y)}, func() (*G.Node, error) {
		xs, ys := x.Shape(), y.Shape()
		switch {
		case sameShape(xs, ys):
			return b.arith(op, x, y, nil, nil, xs)
		case x.IsScalar():
			return b.arith(op, x, y, allAxes(len(ys)), nil, ys)
		case y.IsScalar():
			return b.arith(op, x, y, nil, allAxes(len(xs)), xs)
		}
		return nil, shapeErr("shapes differ and neither is a scalar (use a Broadcast method)")
	})
}

// function applies an elementwise kernel function.
func (b *Builder) function(op kernels.UnaryOp, x *G.Node) *G.Node {
	return b.step(op.String(), []arg{need("x", x)}, func() (*G.Node, error) {
		return b.unaryKernel(op, x)
	})
}

// broadcastShape checks the patterns of a Broadcast method and returns the output shape and
// the axes along which x and y are repeated.
func broadcastShape(xs, ys tensor.Shape, left, right []byte) (out tensor.Shape, lax, rax []int, err error) {
	if len(xs) != len(ys) {
		return nil, nil, nil, shapeErr("x and y must have the same rank")
	}
	// kind[i]: 'l' x repeated along i, 'r' y repeated along i, '=' sizes equal.
	kind := make([]byte, len(xs))
	for i := range kind {
		kind[i] = '='
	}
	for _, p := range []struct {
		axes []byte
		k    byte
		s    tensor.Shape
	}{{left, 'l', xs}, {right, 'r', ys}} {
		for _, a := range p.axes {
			if int(a) >= len(xs) || kind[a] != '=' {
				return nil, nil, nil, shapeErr("broadcast axis %d out of range or in both patterns", a)
			}
			if p.s[a] != 1 {
				return nil, nil, nil, shapeErr("broadcast axis %d has size %d, want 1", a, p.s[a])
			}
			kind[a] = p.k
		}
	}
	out = xs.Clone()
	for i, k := range kind {
		switch {
		case k == 'l':
			out[i] = ys[i]
			lax = append(lax, i)
		case k == 'r':
			rax = append(rax, i)
		case xs[i] != ys[i]:
			return nil, nil, nil, shapeErr("axis %d: sizes %d and %d differ and it is in no pattern", i, xs[i], ys[i])
		}
	}
	return out, lax, rax, nil
}
