package modeltest

import (
	"math"
	"slices"
	"testing"

	"github.com/fmcore/fmcore/model/nn"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Parity checks of whole model modules against the PyTorch reference fixtures: a graph whose
// parameter slots hold the fixture's params/ arrays, run forward (float32 and float64) or with
// the gradients of the fixture's loss Σ(out ⊙ R) (float64), and compared with the fixture's
// outputs/ and grads/ arrays.

// Tol is a tolerance of Close: |got − want| ≤ Atol + Rtol·|want|.
type Tol struct{ Rtol, Atol float64 }

// Module is the graph of one module under a parity check: one parameter slot per spec, each
// holding the fixture's params/ array of the spec's name, and the input nodes made by Input.
type Module struct {
	Graph *G.ExprGraph
	B     *nn.Builder
	P     *nn.Params
	Dtype tensor.Dtype

	gold   *Golden
	slots  []string          // slot names, in the specs' order
	names  map[string]string // slot name → fixture name
	inputs []*G.Node         // differentiated by RunGrad
}

// NewModule starts a graph of dtype dt with one slot per spec (nn.NewSlots), each filled with the
// fixture's params/ array of the spec's (stream-suffixed) name. It fails t when an array is
// missing or of the wrong size, or when the fixture has parameters the specs do not use.
func NewModule(t testing.TB, gold *Golden, dt tensor.Dtype, specs []nn.ParamSpec) *Module {
	t.Helper()
	g := G.NewGraph()
	p, err := nn.NewSlots(g, dt, specs, "")
	if err != nil {
		t.Fatal(err)
	}
	m := &Module{Graph: g, B: nn.NewBuilder(g, nil), P: p, Dtype: dt, gold: gold, names: map[string]string{}}
	for _, sp := range specs {
		slot := nn.SlotName(sp)
		m.slots = append(m.slots, slot)
		m.names[slot] = sp.Name
		SetValue(t, p.Nodes()[slot], gold.F64(t, "params", sp.Name))
	}
	if n := len(gold.Names("params")); n != len(specs) {
		t.Fatalf("the fixture has %d parameters, the module's specs %d", n, len(specs))
	}
	return m
}

// Input returns an input node of the module's dtype holding v (row-major, of the given shape).
// RunGrad differentiates the loss with respect to every such input.
func (m *Module) Input(name string, v []float64, shape ...int) *G.Node {
	n := InputNode(m.Graph, m.Dtype, name, v, shape...)
	m.inputs = append(m.inputs, n)
	return n
}

// Built fails t when building the module failed or asked for parameters the specs do not
// define. Call it after the module's Forward.
func (m *Module) Built(t testing.TB) {
	t.Helper()
	if err := m.B.Err(); err != nil {
		t.Fatalf("build: %v", err)
	}
	if miss := m.P.Missing(); len(miss) > 0 {
		t.Fatalf("the module asked for parameters the config does not define: %v", miss)
	}
}

// Result holds the values of one run of a Module and compares them with the fixture.
type Result struct {
	t         testing.TB
	m         *Module
	out, grad Tol
	vals      map[*G.Node][]float64 // the outputs named at the run
	grads     map[*G.Node][]float64 // RunGrad: every input and slot
	worst     float64               // largest scale-relative gradient error so far
	params    int                   // parameters whose gradients were compared
}

// Run runs the module's graph once, forward only, and keeps the values of outs, which must be
// of the module's dtype. Outputs are compared to tol.
func (m *Module) Run(t testing.TB, tol Tol, outs ...*G.Node) *Result {
	t.Helper()
	reads := m.read(t, outs)
	vm := G.NewTapeMachine(m.Graph)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	return m.result(t, tol, Tol{}, outs, reads, nil)
}

// RunGrad builds the fixture's loss Σ(outs[0] ⊙ R), R an undifferentiated node of outs[0]'s
// shape holding r (in the graph's layout), computes its gradients with respect to every Input
// and every parameter slot (G.Grad), and runs the float64 graph once on a TapeMachine with
// bound dual values. It keeps the values of outs, read by copies taken during the run (the
// tape may reuse intermediate buffers in the backward pass), and every gradient. Outputs are
// compared to out, gradients to grad.
func (m *Module) RunGrad(t testing.TB, out, grad Tol, r []float64, outs ...*G.Node) *Result {
	t.Helper()
	if m.Dtype != tensor.Float64 {
		t.Fatalf("gradient parity runs in float64, the module is %v", m.Dtype)
	}
	if len(outs) == 0 {
		t.Fatal("RunGrad: no output for the loss")
	}
	rn := InputNode(m.Graph, tensor.Float64, "R", r, outs[0].Shape()...)
	m.B.NoGrad(rn)
	loss := m.B.Sum(m.B.Mul(outs[0], rn))
	reads := m.read(t, outs)
	if err := m.B.Err(); err != nil {
		t.Fatal(err)
	}
	wrt := slices.Clone(m.inputs)
	for _, slot := range m.slots {
		wrt = append(wrt, m.P.Nodes()[slot])
	}
	if _, err := G.Grad(loss, wrt...); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(m.Graph, G.BindDualValues(wrt...))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	grads := map[*G.Node][]float64{}
	for _, n := range wrt {
		gv, err := n.Grad()
		if err != nil {
			t.Fatalf("gradient of %s: %v", n.Name(), err)
		}
		grads[n] = Float64s(gv)
	}
	return m.result(t, out, grad, outs, reads, grads)
}

// read checks the outputs' dtype and adds a read of each to the graph.
func (m *Module) read(t testing.TB, outs []*G.Node) []G.Value {
	t.Helper()
	reads := make([]G.Value, len(outs))
	for i, o := range outs {
		if o.Dtype() != m.Dtype {
			t.Fatalf("output %s: dtype %v, want %v", o.Name(), o.Dtype(), m.Dtype)
		}
		G.Read(o, &reads[i])
	}
	return reads
}

func (m *Module) result(t testing.TB, out, grad Tol, outs []*G.Node, reads []G.Value, grads map[*G.Node][]float64) *Result {
	t.Helper()
	r := &Result{t: t, m: m, out: out, grad: grad, vals: map[*G.Node][]float64{}, grads: grads}
	for i, o := range outs {
		if reads[i] == nil {
			t.Fatalf("output %s: no value after the run", o.Name())
		}
		r.vals[o] = Float64s(reads[i])
	}
	return r
}

// Value returns the values of an output named at the run, in the graph's layout.
func (r *Result) Value(n *G.Node) []float64 {
	r.t.Helper()
	return r.lookup(r.vals, n, "was not an output of the run")
}

// Grad returns the gradient of the loss with respect to an input or a slot, in the graph's
// layout.
func (r *Result) Grad(n *G.Node) []float64 {
	r.t.Helper()
	return r.lookup(r.grads, n, "has no gradient: not an input or slot of a RunGrad")
}

// lookup returns vals[n], failing the test with "n.Name() why" when it is absent.
func (r *Result) lookup(vals map[*G.Node][]float64, n *G.Node, why string) []float64 {
	r.t.Helper()
	v, ok := vals[n]
	if !ok {
		r.t.Fatalf("%s %s", n.Name(), why)
	}
	return v
}

// CheckOutput compares got (in the fixture's layout) with the fixture's outputs/name to the
// run's output tolerance and logs the worst error relative to the array's scale.
func (r *Result) CheckOutput(name string, got []float64) {
	r.t.Helper()
	label := name
	if r.m.Dtype == tensor.Float32 {
		label += " (float32)"
	}
	want := r.m.gold.F64(r.t, "outputs", name)
	Close(r.t, label, got, want, r.out.Rtol, r.out.Atol)
	r.t.Logf("%s: worst error %.2g (scale-relative)", label, maxRel(got, want))
}

// CheckGrad compares got (in the fixture's layout) with the fixture's grads/name to the run's
// gradient tolerance.
func (r *Result) CheckGrad(name string, got []float64) {
	r.t.Helper()
	want := r.m.gold.F64(r.t, "grads", name)
	Close(r.t, "gradient of "+name, got, want, r.grad.Rtol, r.grad.Atol)
	r.worst = math.Max(r.worst, maxRel(got, want))
}

// CheckParamGrads compares the gradient of every parameter slot with the fixture's grads/ array
// of its name, except for the parameters the fixture's case.json lists under no_grad, whose
// gradients must be exactly zero (why is said by note, e.g. "(eps = 0)"). It returns the
// no_grad set.
func (r *Result) CheckParamGrads(note string) map[string]bool {
	r.t.Helper()
	noGrad := map[string]bool{}
	if l, ok := r.m.gold.Case["no_grad"].([]any); ok {
		for _, n := range l {
			s, ok := n.(string)
			if !ok {
				r.t.Fatalf("golden %s: no_grad entry %v is not a string", r.m.gold.Dir, n)
			}
			noGrad[s] = true
		}
	}
	for _, slot := range r.m.slots {
		name := r.m.names[slot]
		got := r.Grad(r.m.P.Nodes()[slot])
		if noGrad[name] {
			Close(r.t, "gradient of "+name+" "+note, got, make([]float64, len(got)), 0, 0)
			continue
		}
		r.CheckGrad(name, got)
		r.params++
	}
	return noGrad
}

// LogGrads logs the worst scale-relative error of the gradients compared so far.
func (r *Result) LogGrads() {
	r.t.Helper()
	r.t.Logf("gradients of %d parameters and the inputs: worst error %.2g (scale-relative)", r.params, r.worst)
}

// maxRel returns max|got − want| / max|want|: the worst error relative to the array's own
// scale, for the test log.
func maxRel(got, want []float64) float64 {
	var scale, worst float64
	for i, w := range want {
		scale = math.Max(scale, math.Abs(w))
		if i < len(got) {
			worst = math.Max(worst, math.Abs(got[i]-w))
		}
	}
	return worst / math.Max(scale, 1e-300)
}

// SetValue copies v into a node's float32 or float64 value; it fails t on a length mismatch.
func SetValue(t testing.TB, n *G.Node, v []float64) {
	t.Helper()
	switch d := n.Value().Data().(type) {
	case []float64:
		if len(d) != len(v) {
			t.Fatalf("%s: %d values for %d", n.Name(), len(v), len(d))
		}
		copy(d, v)
	case []float32:
		if len(d) != len(v) {
			t.Fatalf("%s: %d values for %d", n.Name(), len(v), len(d))
		}
		for i, x := range v {
			d[i] = float32(x)
		}
	default:
		t.Fatalf("%s: storage %T", n.Name(), d)
	}
}

// InputNode returns a node of dtype dt (float32 or float64) holding a copy of v, of the given
// shape.
func InputNode(g *G.ExprGraph, dt tensor.Dtype, name string, v []float64, shape ...int) *G.Node {
	var val *tensor.Dense
	if dt == tensor.Float32 {
		f := make([]float32, len(v))
		for i, x := range v {
			f[i] = float32(x)
		}
		val = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(f))
	} else {
		val = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(slices.Clone(v)))
	}
	return G.NewTensor(g, dt, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(val))
}
