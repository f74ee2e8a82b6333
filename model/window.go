package model

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/fmcore/fmcore/model/nn"
	"github.com/fmcore/fmcore/model/perspective"
)

// Batch holds the inputs of one window of N sequences of T frames, N-major. Training,
// validation and evaluation fill it the same way; evaluation leaves Jitter and Eps zero.
type Batch struct {
	Frames   []uint8   // [N, T, H, W] stimulus pixels
	Eye      []float32 // [N, T, 2] perspective input
	Behavior []float32 // [N, T, 2] modulation input (pupil, running)
	Jitter   []float32 // [N, 6] monitor-pose noise, one draw per sequence (training)
	Eps      []float32 // [N, U, 2] readout-position noise, one draw per sequence (training)
	Targets  []float32 // [N, T, U] responses; NaN is masked out of the loss
}

// Window is the network unrolled over a window of T frames for one session and batch
// size N, compiled once and reused for every batch (TOOLCHAIN.md 2.3). It computes one
// stream at a time: before a run the chosen stream's parameter values are copied into
// the graph, and after a backward pass the gradients are read back under that stream's
// names (MODEL.md 1.3).
type Window struct {
	net     *Network
	sess    *Session
	N, T    int
	Burnin  int
	dt      tensor.Dtype
	g       *G.ExprGraph
	vm      G.VM
	slots   *nn.Params
	learn   []*G.Node // slot nodes in a fixed order
	names   []string  // slot name of each learnable
	grad    bool
	lum     *G.Node // [N·T, 1, H, W]
	eye     *G.Node // [N·T, 2]
	jitter  *G.Node // [N·T, 6]
	beh     *G.Node // [N, T, 2]
	eps     *G.Node // [N, U, 2]
	target  *G.Node // [N, T, U]
	logRate *G.Node // [N, T, U]
	lrValue G.Value // a copy of logRate's value, taken by a read op: gorgonia may reuse
	// the buffers of intermediate nodes later in the same run
	loss   *G.Node // scalar
	lumBuf []float32
	jitBuf []float32
}

// NewWindow builds and compiles the unrolled graph of session key for batches of N
// sequences of T frames; the loss skips the first burnin frames. With grad, the graph
// also computes the gradient of the loss with respect to every parameter.
func (n *Network) NewWindow(key string, N, T, burnin int, grad bool) (w *Window, err error) {
	sess, ok := n.Sessions[key]
	if !ok {
		return nil, fmt.Errorf("model: no session %s", key)
	}
	if N < 1 || T < 1 || burnin < 0 || burnin >= T {
		return nil, fmt.Errorf("model: window of %d sequences × %d frames with burn-in %d: want N, T ≥ 1 and burn-in < T", N, T, burnin)
	}
	return newWindow(n, sess, N, T, burnin, grad, tensor.Float32)
}

func newWindow(n *Network, sess *Session, N, T, burnin int, grad bool, dt tensor.Dtype) (*Window, error) {
	cfg := n.Config
	H, W, U := cfg.StimulusHeight, cfg.StimulusWidth, sess.Units
	g := G.NewGraph()
	w := &Window{net: n, sess: sess, N: N, T: T, Burnin: burnin, dt: dt, g: g, grad: grad}
	specs := append(append([]nn.ParamSpec{}, n.coreSpecs...), sess.specs...)
	slots, err := nn.NewSlots(g, dt, specs)
	if err != nil {
		return nil, err
	}
	w.slots = slots
	for _, sp := range specs {
		name := nn.SlotName(sp)
		if sp.Stream > 0 {
			continue // one slot per stream-agnostic name
		}
		w.learn = append(w.learn, slots.Nodes()[name])
		w.names = append(w.names, name)
	}
	in := func(name string, shape ...int) *G.Node {
		return G.NewTensor(g, dt, len(shape), G.WithShape(shape...), G.WithName(name))
	}
	w.lum = in("input.luminance", N*T, 1, H, W)
	w.eye = in("input.eye", N*T, 2)
	w.jitter = in("input.jitter", N*T, 6)
	w.beh = in("input.behavior", N, T, 2)
	w.eps = in("input.eps", N, U, 2)
	w.target = in("input.target", N, T, U)

	b := nn.NewBuilder(g, nil)
	hr, wr := sess.Perspective.OutShape()
	retina := sess.Perspective.Forward(b, slots, w.lum, w.eye, w.jitter) // [N·T, 1, Hr, Wr]
	retina = b.Reshape(retina, N, 1, T, hr, wr)                          // C = 1: (n, t) order is NCTHW
	mod := sess.Modulation.Forward(b, slots, w.beh)                      // [N, T, Mod]
	coreOut := n.Core.Forward(b, slots, retina, mod, nil)                // [N, C, T, h, w]
	pos := sess.Readout.Positions(b, slots, w.eps)
	w.logRate = sess.Readout.Forward(b, slots, coreOut, pos) // [N, T, U]
	w.loss = b.PoissonLoss(b.Slice(w.logRate, 1, burnin, T), b.Slice(w.target, 1, burnin, T))
	if b.Err() == nil {
		G.Read(w.logRate, &w.lrValue)
	}
	if miss := slots.Missing(); len(miss) > 0 {
		return nil, fmt.Errorf("model: graph asks for parameters the config does not define: %v", miss)
	}
	if err := b.Err(); err != nil {
		return nil, fmt.Errorf("model: build window: %w", err)
	}
	if grad {
		if _, err := G.Grad(w.loss, w.learn...); err != nil {
			return nil, fmt.Errorf("model: gradient graph: %w", err)
		}
	}
	if err := checkHashes(g); err != nil {
		return nil, err
	}
	if grad {
		w.vm = G.NewTapeMachine(g, G.BindDualValues(w.learn...))
	} else {
		w.vm = G.NewTapeMachine(g)
	}
	w.lumBuf = make([]float32, N*T*H*W)
	w.jitBuf = make([]float32, N*T*6)
	return w, nil
}

// Run computes one window with stream s's weights and returns the mean Poisson loss of
// the frames after burn-in and the log-rates [N, T, U] (valid until the next Run). With
// a gradient window, the gradients are added to grads under each parameter's qualified
// name (ParamKey; names missing from grads are skipped).
func (w *Window) Run(s int, in *Batch, grads map[string][]float32) (float64, []float32, error) {
	if s < 0 || s >= w.net.Config.Streams {
		return 0, nil, fmt.Errorf("model: stream %d of %d", s, w.net.Config.Streams)
	}
	if err := w.let(s, in); err != nil {
		return 0, nil, err
	}
	w.vm.Reset()
	if err := w.vm.RunAll(); err != nil {
		return 0, nil, fmt.Errorf("model: run window: %w", err)
	}
	loss := scalarValue(w.loss.Value())
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, nil, fmt.Errorf("model: non-finite loss %v", loss)
	}
	if w.grad {
		defer nn.ZeroGrads(w.learn) // gradients accumulate across runs (TOOLCHAIN.md 2.3)
	}
	if w.grad && grads != nil {
		for i, node := range w.learn {
			name := fullName(w.net, w.sess.Key, w.names[i], s)
			dst, ok := grads[name]
			if !ok {
				continue
			}
			gv, err := node.Grad()
			if err != nil {
				return 0, nil, fmt.Errorf("model: gradient of %s: %w", name, err)
			}
			addInto(dst, gv.Data())
		}
	}
	return loss, float32s(w.lrValue.Data()), nil
}

// let copies stream s's parameters and the batch into the graph.
func (w *Window) let(s int, in *Batch) error {
	for i, node := range w.learn {
		src := w.net.values[fullName(w.net, w.sess.Key, w.names[i], s)]
		if err := setData(node.Value().Data(), src); err != nil {
			return fmt.Errorf("model: parameter %s: %w", w.names[i], err)
		}
	}
	cfg := w.net.Config
	N, T, U := w.N, w.T, w.sess.Units
	HW := cfg.StimulusHeight * cfg.StimulusWidth
	checks := []struct {
		name string
		got  int
		want int
	}{{"frames", len(in.Frames), N * T * HW}, {"eye", len(in.Eye), N * T * 2}, {"behavior", len(in.Behavior), N * T * 2},
		{"jitter", len(in.Jitter), N * 6}, {"eps", len(in.Eps), N * U * 2}, {"targets", len(in.Targets), N * T * U}}
	for _, c := range checks {
		if c.got != c.want {
			return fmt.Errorf("model: batch %s has %d values, the window needs %d", c.name, c.got, c.want)
		}
	}
	perspective.Luminance(w.lumBuf, in.Frames, cfg.Perspective.MonitorPower)
	for n := range N { // one jitter draw per sequence, repeated over its frames
		for t := range T {
			copy(w.jitBuf[(n*T+t)*6:(n*T+t+1)*6], in.Jitter[n*6:(n+1)*6])
		}
	}
	for _, l := range []struct {
		node *G.Node
		data []float32
	}{{w.lum, w.lumBuf}, {w.eye, in.Eye}, {w.jitter, w.jitBuf}, {w.beh, in.Behavior}, {w.eps, in.Eps}, {w.target, in.Targets}} {
		if err := G.Let(l.node, backing(w.dt, l.data, l.node.Shape())); err != nil {
			return fmt.Errorf("model: input %s: %w", l.node.Name(), err)
		}
	}
	return nil
}

// fullName maps a slot name to the qualified name (ParamKey) of session key's parameter
// of stream s.
func fullName(n *Network, key, slot string, s int) string {
	if sp, ok := n.specs[ParamKey(key, slot)]; ok && sp.Stream < 0 {
		return ParamKey(key, slot) // shared by the streams
	}
	return ParamKey(key, nn.StreamName(slot, s))
}

// backing wraps data as a tensor of dtype dt and the given shape (converting to float64
// for float64 graphs, which the parity and gradient tests use).
func backing(dt tensor.Dtype, data []float32, shape tensor.Shape) tensor.Tensor {
	if dt == tensor.Float64 {
		v := make([]float64, len(data))
		for i, x := range data {
			v[i] = float64(x)
		}
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// setData copies float32 values into a float32 or float64 slice.
func setData(dst any, src []float32) error {
	switch d := dst.(type) {
	case []float32:
		if len(d) != len(src) {
			return fmt.Errorf("%d values for %d", len(src), len(d))
		}
		copy(d, src)
	case []float64:
		if len(d) != len(src) {
			return fmt.Errorf("%d values for %d", len(src), len(d))
		}
		for i, x := range src {
			d[i] = float64(x)
		}
	default:
		return fmt.Errorf("unsupported storage %T", dst)
	}
	return nil
}

// addInto adds a float32 or float64 gradient into dst.
func addInto(dst []float32, src any) {
	switch s := src.(type) {
	case []float32:
		for i, x := range s {
			dst[i] += x
		}
	case []float64:
		for i, x := range s {
			dst[i] += float32(x)
		}
	}
}

// float32s returns a float32 view or copy of a tensor's data.
func float32s(data any) []float32 {
	switch d := data.(type) {
	case []float32:
		return d
	case []float64:
		out := make([]float32, len(d))
		for i, x := range d {
			out[i] = float32(x)
		}
		return out
	}
	return nil
}

// scalarValue reads a scalar node value.
func scalarValue(v G.Value) float64 {
	switch x := v.Data().(type) {
	case float32:
		return float64(x)
	case float64:
		return x
	case []float32:
		return float64(x[0])
	case []float64:
		return x[0]
	}
	return math.NaN()
}

// Evaluate runs every stream in evaluation mode (Jitter and Eps must be zero) and returns
// the ensemble's rates [N, T, U]: exp of the mean over streams of the log-rates (MODEL.md
// 1.3), and the Poisson loss of those rates after burn-in.
func (w *Window) Evaluate(in *Batch) ([]float32, float64, error) {
	S := w.net.Config.Streams
	var mean []float64
	for s := range S {
		_, lr, err := w.Run(s, in, nil)
		if err != nil {
			return nil, 0, err
		}
		if mean == nil {
			mean = make([]float64, len(lr))
		}
		for i, v := range lr {
			mean[i] += float64(v) / float64(S)
		}
	}
	rates := make([]float32, len(mean))
	var loss float64
	var count int
	U := w.sess.Units
	for i, r := range mean {
		rates[i] = float32(math.Exp(r))
		t := (i / U) % w.T
		if y := float64(in.Targets[i]); t >= w.Burnin && !math.IsNaN(y) {
			loss += math.Exp(r) - y*r
			count++
		}
	}
	if count > 0 {
		loss /= float64(count)
	}
	return rates, loss, nil
}

// checkHashes refuses a graph in which two distinct nodes share a hash: gorgonia's
// compiler merges nodes by their 32-bit hash alone, so such a pair would silently share
// one result.
func checkHashes(g *G.ExprGraph) error {
	seen := map[uint32]*G.Node{}
	for _, n := range g.AllNodes() {
		h := n.Hashcode()
		if m, ok := seen[h]; ok && m != n {
			return fmt.Errorf("model: graph nodes %s and %s share the hash %08x; gorgonia would merge them: build the window with another batch size or length (and report this)", m, n, h)
		}
		seen[h] = n
	}
	return nil
}
