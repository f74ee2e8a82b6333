package nn

import (
	"errors"
	"fmt"
	"strings"

	"github.com/fmcore/fmcore/internal/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ErrShape is wrapped by every Builder error about the shapes or dtypes of its inputs (STYLE.md
// rule 8: a shape mismatch during graph construction is a programmer error, reported as a
// value).
var ErrShape = errors.New("shape mismatch")

// OpError is the error a Builder records: the module path set by Scope, the operation, the
// shapes of its inputs, and what was wrong. It wraps ErrShape for shape and dtype problems and
// the underlying error (kernels.ErrShape, a gorgonia error) otherwise.
type OpError struct {
	Path   string   // module path, e.g. "core.recurrent"; "" outside any Scope
	Op     string   // builder method, e.g. "conv3d"
	Inputs []string // "name [shape] dtype" per input, nil inputs as "name nil"
	Err    error
}

// Error formats the error on one line: "core.recurrent: conv3d(x [2 8 1 16 24] float32, …): …".
func (e *OpError) Error() string {
	var sb strings.Builder
	if e.Path != "" {
		sb.WriteString(e.Path)
		sb.WriteString(": ")
	}
	fmt.Fprintf(&sb, "%s(%s): %v", e.Op, strings.Join(e.Inputs, ", "), e.Err)
	return sb.String()
}

// Unwrap returns the underlying error.
func (e *OpError) Unwrap() error { return e.Err }

// Builder adds operations to a gorgonia graph with a sticky error (STYLE.md rule 8; the Go blog's
// "Errors are values"): the first failure is recorded with the module path and the shapes, and
// from then on every method returns nil and does nothing, so module code builds a whole graph
// without checks and asks Err once at its entry point.
//
// It builds two kinds of nodes. Kernel ops (Conv3d, WeightStd, GELU, AvgPool2, GridSample,
// Attention, LSTM, PoissonLoss; Transpose, Slice, Split, Concat, CatGroups, Sum, Mean; the
// elementwise arithmetic, the Broadcast methods and the elementwise functions) are custom
// gorgonia Ops over internal/kernels, for float32 and float64 graphs, with their gradients built
// from further kernel ops for G.Grad. Each keeps its output buffer from run to run
// (kernelop.go). The thin wrappers of gorgonia's own ops (Pow, MatMul, Constant) add shape
// checks and the sticky error. Shapes use the letters of model/doc.go.
//
// A Builder holds the Workspace its kernel ops run with: the graph must be run by one goroutine
// at a time (one TapeMachine per Builder).
type Builder struct {
	g    *G.ExprGraph
	ws   *kernels.Workspace
	path string
	err  error
	// noGrad holds the nodes that need no gradient: those given to NoGrad, constants, and the
	// outputs of operations all of whose inputs need none. Kernel ops build no gradient towards
	// them.
	noGrad map[*G.Node]bool
	splits int // Splits built so far: numbers each one (splitGroup.id)
	// shared, when set, holds the outputs of the graph's kernel ops in shared Buffers; the
	// gradient Builders of its ops carry it on, so every op of the graph gets its own slot.
	shared *sharedOutputs
	// masks holds the dropout masks by site name, each [N, C] (SetDropout).
	masks map[string]*G.Node
}

// NewBuilder returns a Builder that adds to g and runs its kernel ops with ws (shared by every
// op, see kernels.Workspace); a nil ws gets a new one with GOMAXPROCS workers.
func NewBuilder(g *G.ExprGraph, ws *kernels.Workspace) *Builder {
	if ws == nil {
		ws = kernels.NewWorkspace(0)
	}
	return &Builder{g: g, ws: ws, noGrad: map[*G.Node]bool{}}
}

// ShareBuffers makes the kernel ops built from now on keep their outputs in bufs, shared
// with the graphs of other Builders given the same Buffers (which must never run at the
// same time as this one), instead of one buffer each. It returns b.
func (b *Builder) ShareBuffers(bufs *Buffers) *Builder {
	b.shared = &sharedOutputs{bufs: bufs}
	return b
}

// SetDropout gives the Builder the per-sequence dropout masks of a training graph by site
// name, each [N, C], that Dropout applies; it returns b. Without them Dropout passes its
// input through.
func (b *Builder) SetDropout(masks map[string]*G.Node) *Builder {
	b.masks = masks
	return b
}

// Dropout multiplies x [N, C, …] by the mask of site, one value per sequence and channel
// shared over the remaining axes (variational dropout, MODEL.md 1.3; the mask carries the
// 1/(1−p) scale). With no mask for site it returns x.
func (b *Builder) Dropout(site string, x *G.Node) *G.Node {
	m := b.masks[site]
	if m == nil || b.err != nil {
		return x
	}
	s := x.Shape()
	shape := []int{s[0], s[1]}
	var axes []byte
	for i := 2; i < len(s); i++ {
		shape = append(shape, 1)
		axes = append(axes, byte(i))
	}
	return b.BroadcastMul(x, b.Reshape(m, shape...), nil, axes)
}

// Graph returns the graph the Builder adds to.
func (b *Builder) Graph() *G.ExprGraph { return b.g }

// Workspace returns the kernels' workspace the Builder's ops run with.
func (b *Builder) Workspace() *kernels.Workspace { return b.ws }

// Err returns the first error, an *OpError naming the module path, the op and the shapes; nil
// when every operation so far succeeded.
func (b *Builder) Err() error { return b.err }

// Scope sets the module path that errors name (e.g. "core.feedforward.1") and returns a
// function restoring the previous one:
//
//	defer b.Scope("readout")()
func (b *Builder) Scope(path string) func() {
	prev := b.path
	b.path = path
	return func() { b.path = prev }
}

// NoGrad marks nodes that never need a gradient, such as data inputs (stimulus frames,
// behaviour, targets), so that kernel ops built on them afterwards, and on nodes computed only
// from them, build no gradient graph towards them: the first convolution then computes no
// gradient with respect to the stimulus. Mark a node before building on it. Asking G.Grad for
// the gradient of such a node is then an error. Nil nodes are ignored.
func (b *Builder) NoGrad(nodes ...*G.Node) {
	for _, n := range nodes {
		if n != nil {
			b.noGrad[n] = true
		}
	}
}

// needsGrad reports whether kernel ops should build a gradient towards n.
func (b *Builder) needsGrad(n *G.Node) bool { return n != nil && !b.noGrad[n] }

// ZeroGrads sets the gradients bound to nodes (the dual values of a TapeMachine made with
// G.BindDualValues) to zero. gorgonia accumulates gradients across runs (TOOLCHAIN.md 2.3), so
// every run after the first needs this before its backward pass counts: after an optimizer step,
// between gradient checks, and at the start of each gradient-accumulation window.
func ZeroGrads(nodes []*G.Node) error {
	for _, n := range nodes {
		g, err := n.Grad()
		if err != nil {
			return fmt.Errorf("zero gradient of %s: %w", n.Name(), err)
		}
		switch v := g.(type) {
		case tensor.Tensor:
			v.Zero()
		case *G.F32:
			*v = 0
		case *G.F64:
			*v = 0
		default:
			return fmt.Errorf("zero gradient of %s: unsupported value type %T", n.Name(), g)
		}
	}
	return nil
}

// arg is a named input of a builder step, for checks and error messages.
type arg struct {
	name     string
	node     *G.Node
	optional bool // may be nil
}

// need and maybe name a required and an optional input.
func need(name string, n *G.Node) arg  { return arg{name: name, node: n} }
func maybe(name string, n *G.Node) arg { return arg{name: name, node: n, optional: true} }

// step runs one graph-building operation op on args: it does nothing after an earlier error,
// checks that required inputs are present, that all inputs share the graph and a float dtype,
// calls build, and records any error it returns or any panic inside gorgonia as an *OpError. The
// result needs no gradient when no input does. It returns nil on failure.
func (b *Builder) step(op string, args []arg, build func() (*G.Node, error)) *G.Node {
	out := b.stepN(op, args, func() ([]*G.Node, error) {
		n, err := build()
		if err == nil && n == nil {
			err = errors.New("no node built")
		}
		return []*G.Node{n}, err
	})
	if out == nil {
		return nil
	}
	return out[0]
}

// stepN is step for an operation with several results, some of which may be nil (gradients
// nobody asked for); it returns nil on failure.
func (b *Builder) stepN(op string, args []arg, build func() ([]*G.Node, error)) (out []*G.Node) {
	if b.err != nil {
		return nil
	}
	if err := b.checkArgs(args); err != nil {
		b.fail(op, args, err)
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			out = nil
			b.fail(op, args, fmt.Errorf("gorgonia panicked: %v", r))
		}
	}()
	out, err := build()
	if err != nil {
		b.fail(op, args, err)
		return nil
	}
	if !b.anyNeedsGrad(args) {
		for _, n := range out {
			if n != nil {
				b.noGrad[n] = true
			}
		}
	}
	return out
}

// checkArgs checks presence, graph and dtype of the inputs.
func (b *Builder) checkArgs(args []arg) error {
	var dt tensor.Dtype
	for _, a := range args {
		if a.node == nil {
			if a.optional {
				continue
			}
			return fmt.Errorf("input %s is nil: %w", a.name, ErrShape)
		}
		if a.node.Graph() != nil && a.node.Graph() != b.g {
			return fmt.Errorf("input %s belongs to another graph: %w", a.name, ErrShape)
		}
		d := a.node.Dtype()
		if d != tensor.Float32 && d != tensor.Float64 {
			return fmt.Errorf("input %s has dtype %v, want float32 or float64: %w", a.name, d, ErrShape)
		}
		if dt != (tensor.Dtype{}) && d != dt {
			return fmt.Errorf("input %s has dtype %v, the others %v: %w", a.name, d, dt, ErrShape)
		}
		dt = d
	}
	return nil
}

// anyNeedsGrad reports whether any present input needs a gradient.
func (b *Builder) anyNeedsGrad(args []arg) bool {
	for _, a := range args {
		if b.needsGrad(a.node) {
			return true
		}
	}
	return false
}

// fail records err as the Builder's error, with the path, op and input shapes.
func (b *Builder) fail(op string, args []arg, err error) {
	if b.err != nil {
		return
	}
	desc := make([]string, len(args))
	for i, a := range args {
		if a.node == nil {
			desc[i] = a.name + " nil"
			continue
		}
		desc[i] = fmt.Sprintf("%s %v %v", a.name, []int(a.node.Shape()), a.node.Dtype())
	}
	b.err = &OpError{Path: b.path, Op: op, Inputs: desc, Err: err}
}

// kernelShapeErr is a kernel descriptor's validation error (wrapping kernels.ErrShape) reported
// as a Builder shape error: its message is the kernel's, and it also matches ErrShape.
type kernelShapeErr struct{ err error }

func (e kernelShapeErr) Error() string   { return e.err.Error() }
func (e kernelShapeErr) Unwrap() []error { return []error{e.err, ErrShape} }

// shapeErr returns an error wrapping ErrShape.
func shapeErr(format string, a ...any) error {
	return fmt.Errorf(format+": %w", append(a, ErrShape)...)
}
