package nn

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"github.com/fmcore/fmcore/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The one custom-Op type behind every kernel op (TOOLCHAIN.md 2.7). An op is data: a name and
// its parameters (both hashed: gorgonia merges ops with equal hashes), the input and output
// shapes fixed when the graph is built, one forward function per element type that calls a
// kernel, and a function that builds the gradients from further kernel ops. Each Builder method
// supplies those few pieces; everything gorgonia asks of an Op lives here once.

// runFn is a kernel op's forward computation for element type T: it reads the inputs'
// contiguous data and overwrites every element of out (a 1-element slice for a scalar output).
type runFn[T kernels.Float] func(ws *kernels.Workspace, in [][]T, out []T) error

// gradFn builds the gradient of each input of a kernel op from the inputs, the output y and its
// gradient dy, as nodes of b; entry i must be nil exactly when wrt[i] is false.
type gradFn func(b *Builder, in []*G.Node, y, dy *G.Node, wrt []bool) []*G.Node

// kernelSpec is what a Builder method supplies to build one kernel op.
type kernelSpec struct {
	name   string       // op name in errors, hashes and graph dumps, e.g. "conv3d.dx"
	params string       // every parameter that changes the result, formatted
	out    tensor.Shape // output shape; empty for a scalar
	run32  runFn[float32]
	run64  runFn[float64]
	grad   gradFn // nil: not differentiable (the gradient ops themselves)
	// constant lists inputs that never get a gradient (the targets of a loss).
	constant []int
}

// kernelOp is a gorgonia Op (and SDOp) running a kernel.
type kernelOp struct {
	kernelSpec
	in  []tensor.Shape
	ws  *kernels.Workspace
	wrt []bool // which inputs get a gradient
	// out32 and out64 hold the op's output, allocated by its first run and overwritten by every
	// later one (see outputBuffer), unless shared Buffers hold it, under slot.
	out32  []float32
	out64  []float64
	shared *sharedOutputs
	slot   int // the op's number among its graph's kernel ops (with shared)
}

// kernel applies the op described by s to inputs, which must be non-nil nodes of b's graph with
// the same float dtype (step checks that). An input gets a gradient when s has a gradient and the
// input needs one (NoGrad).
func (b *Builder) kernel(s kernelSpec, inputs ...*G.Node) (*G.Node, error) {
	op := &kernelOp{kernelSpec: s, ws: b.ws, in: make([]tensor.Shape, len(inputs)), wrt: make([]bool, len(inputs))}
	b.shared.claim(op)
	for i, n := range inputs {
		op.in[i] = n.Shape()
		op.wrt[i] = s.grad != nil && b.needsGrad(n)
	}
	for _, i := range s.constant {
		op.wrt[i] = false
	}
	return G.ApplyOp(op, inputs...)
}

// kernelPacked applies an op whose results are several tensors of the given shapes, written one
// after the other into a flat output (the kernels compute them together), and returns one node
// per part, copied out of the packed output by take; nil for the parts want marks false (want
// nil: all parts).
func (b *Builder) kernelPacked(s kernelSpec, parts []tensor.Shape, want []bool, inputs ...*G.Node) ([]*G.Node, error) {
	total := 0
	for _, p := range parts {
		total += p.TotalSize()
	}
	s.out = tensor.Shape{total}
	packed, err := b.kernel(s, inputs...)
	if err != nil {
		return nil, err
	}
	if !b.anyNeedsGrad(nodeArgs(inputs)) {
		b.noGrad[packed] = true
	}
	out := make([]*G.Node, len(parts))
	off := 0
	for i, p := range parts {
		if want == nil || want[i] {
			if out[i], err = b.take(packed, off, p); err != nil {
				return nil, err
			}
		}
		off += p.TotalSize()
	}
	return out, nil
}

// take returns elements [off, off+size) of the flat node packed, as a node of the given shape
// (a copy).
func (b *Builder) take(packed *G.Node, off int, shape tensor.Shape) (*G.Node, error) {
	n := shape.TotalSize()
	return b.copyCols(packed, kernels.ColCopy{Rows: 1, In: packed.Shape().TotalSize(), Out: n, Src: off, Width: n}, shape)
}

// nodeArgs wraps nodes as optional args (for anyNeedsGrad).
func nodeArgs(nodes []*G.Node) []arg {
	out := make([]arg, len(nodes))
	for i, n := range nodes {
		out[i] = maybe("", n)
	}
	return out
}

// splitParts cuts a packed output into consecutive slices of the given lengths.
func splitParts[T kernels.Float](packed []T, lens ...int) [][]T {
	out := make([][]T, len(lens))
	for i, n := range lens {
		out[i], packed = packed[:n:n], packed[n:]
	}
	return out
}

// Arity returns the number of inputs.
func (op *kernelOp) Arity() int { return len(op.in) }

// Type returns the hm signature a → … → a over tensors of the input and output ranks, with one
// dtype variable a: every input and the output share one float dtype.
func (op *kernelOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	typeOf := func(s tensor.Shape) hm.Type {
		if len(s) == 0 {
			return a
		}
		return G.TensorType{Dims: len(s), Of: a}
	}
	ts := make([]hm.Type, 0, len(op.in)+1)
	for _, s := range op.in {
		ts = append(ts, typeOf(s))
	}
	ts = append(ts, typeOf(op.out))
	return hm.NewFnType(ts...)
}

// InferShape returns the output shape fixed at build time, after checking the input shapes.
func (op *kernelOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	if len(ds) != len(op.in) {
		return nil, fmt.Errorf("%s: %d inputs, want %d", op.name, len(ds), len(op.in))
	}
	for i, d := range ds {
		if s, ok := d.(tensor.Shape); ok && !sameShape(s, op.in[i]) {
			return nil, fmt.Errorf("%s: input %d has shape %v, built for %v", op.name, i, s, op.in[i])
		}
	}
	return op.out.Clone(), nil
}

// Do runs the kernel on the input values and returns a new output value.
func (op *kernelOp) Do(vals ...G.Value) (G.Value, error) {
	if len(vals) != len(op.in) {
		return nil, fmt.Errorf("%s: %d input values, want %d", op.name, len(vals), len(op.in))
	}
	switch dt := vals[0].Dtype(); dt {
	case tensor.Float32:
		return runKernel(op, op.run32, dt, vals)
	case tensor.Float64:
		return runKernel(op, op.run64, dt, vals)
	default:
		return nil, fmt.Errorf("%s: dtype %v, want float32 or float64", op.name, dt)
	}
}

// runKernel is Do for element type T.
func runKernel[T kernels.Float](op *kernelOp, run runFn[T], dt tensor.Dtype, vals []G.Value) (G.Value, error) {
	in := make([][]T, len(vals))
	for i, v := range vals {
		if v.Dtype() != dt {
			return nil, fmt.Errorf("%s: input %d has dtype %v, input 0 %v", op.name, i, v.Dtype(), dt)
		}
		if !sameShape(v.Shape(), op.in[i]) {
			return nil, fmt.Errorf("%s: input %d has shape %v, built for %v", op.name, i, v.Shape(), op.in[i])
		}
		d, err := contiguous[T](v)
		if err != nil {
			return nil, fmt.Errorf("%s: input %d: %w", op.name, i, err)
		}
		in[i] = d
	}
	if len(op.out) == 0 {
		out := make([]T, 1)
		if err := run(op.ws, in, out); err != nil {
			return nil, fmt.Errorf("%s: %w", op.name, err)
		}
		if dt == tensor.Float32 {
			return G.NewF32(float32(out[0])), nil
		}
		return G.NewF64(float64(out[0])), nil
	}
	out := outputBuffer[T](op)
	if err := run(op.ws, in, out); err != nil {
		return nil, fmt.Errorf("%s: %w", op.name, err)
	}
	return tensor.New(tensor.WithShape(op.out.Clone()...), tensor.WithBacking(out)), nil
}

// outputBuffer returns the op's output buffer of element type T, allocating it on the first run.
// A TapeMachine runs each op once per run and drops every value at Reset, so the buffer is
// free again at the next run: reusing it saves a large allocation, its zeroing and its page
// faults per op and step (gorgonia's own ops allocate afresh; TOOLCHAIN.md 2.6 measured one GC
// per step from that). The runFns overwrite every element. A consequence is that an output
// read after a run (a loss, log-rates, a streaming state) is valid until the next run of the
// graph, which every caller copies out before. With shared Buffers, until the next run of
// any graph that shares them.
func outputBuffer[T kernels.Float](op *kernelOp) []T {
	n := op.out.TotalSize()
	var zero T
	switch any(zero).(type) {
	case float32:
		if op.shared != nil {
			return any(op.shared.bufs.float32s(op.slot, n)).([]T)
		}
		if len(op.out32) != n {
			op.out32 = make([]float32, n)
		}
		return any(op.out32).([]T)
	default:
		if op.shared != nil {
			return any(op.shared.bufs.float64s(op.slot, n)).([]T)
		}
		if len(op.out64) != n {
			op.out64 = make([]float64, n)
		}
		return any(op.out64).([]T)
	}
}

// contiguous returns the data of v as a row-major slice: a contiguous tensor's own backing
// (no copy, so Reshape views and leading-axis slices are free), else a materialised copy (a
// transposed or strided view).
func contiguous[T kernels.Float](v G.Value) ([]T, error) {
	switch v := v.(type) {
	case *tensor.Dense:
		if v.Shape().IsScalar() {
			return []T{v.ScalarValue().(T)}, nil
		}
		if v.RequiresIterator() || v.DataSize() != v.Shape().TotalSize() {
			m, ok := v.Materialize().(*tensor.Dense)
			if !ok {
				return nil, errors.New("materialised view is not dense")
			}
			v = m
		}
		d, ok := v.Data().([]T)
		if !ok {
			return nil, fmt.Errorf("data of type %T", v.Data())
		}
		return d, nil
	case *G.F32:
		return []T{T(*v)}, nil
	case *G.F64:
		return []T{T(*v)}, nil
	}
	return nil, fmt.Errorf("unsupported value type %T", v)
}

// ReturnsPtr is false: the output is a new value.
func (op *kernelOp) ReturnsPtr() bool { return false }

// CallsExtern is false: gorgonia then preallocates nothing and batches no BLAS calls around the
// op (the kernels call OpenBLAS themselves).
func (op *kernelOp) CallsExtern() bool { return false }

// OverwritesInput is -1: inputs are never overwritten.
func (op *kernelOp) OverwritesInput() int { return -1 }

// WriteHash writes the name, the parameters and the shapes: gorgonia merges nodes whose ops
// hash equally (TOOLCHAIN.md 2.7), so every parameter must be part of it.
func (op *kernelOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "fmcore.%s{%s} in %v out %v wrt %v", op.name, op.params, op.in, op.out, op.wrt)
}

// Hashcode returns the FNV-1a hash of WriteHash.
func (op *kernelOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// String returns the name and parameters.
func (op *kernelOp) String() string {
	if op.params == "" {
		return op.name
	}
	return op.name + "{" + op.params + "}"
}

// DiffWRT reports which inputs get a gradient.
func (op *kernelOp) DiffWRT(n int) []bool {
	out := make([]bool, n)
	copy(out, op.wrt)
	return out
}

// SymDiff builds the input gradients from dy with the op's gradient function.
func (op *kernelOp) SymDiff(inputs G.Nodes, output, dy *G.Node) (G.Nodes, error) {
	if op.grad == nil {
		return nil, fmt.Errorf("%s is not differentiable", op.name)
	}
	if len(inputs) != len(op.in) {
		return nil, fmt.Errorf("%s: %d inputs, want %d", op.name, len(inputs), len(op.in))
	}
	b := &Builder{g: output.Graph(), ws: op.ws, path: "gradient of " + op.String(), noGrad: map[*G.Node]bool{}, shared: op.shared}
	grads := op.grad(b, inputs, output, dy, op.wrt)
	if b.err != nil {
		return nil, b.err
	}
	if len(grads) != len(inputs) {
		return nil, fmt.Errorf("%s: %d gradients for %d inputs", op.name, len(grads), len(inputs))
	}
	for i, g := range grads {
		if (g != nil) != op.wrt[i] {
			return nil, fmt.Errorf("%s: gradient %d present %v, want %v", op.name, i, g != nil, op.wrt[i])
		}
	}
	return grads, nil
}
