package model

import (
	"fmt"
	"math"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/fmcore/fmcore/model/nn"
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
	// Dropout holds the dropout masks [N, D] of a training window's sites (DrawDropout); nil
	// means none (all ones). Windows without gradient apply no dropout and ignore it.
	Dropout []float32
}

// Window is the network unrolled over a window of T frames for one session and batch
// size N, compiled once and reused for every batch (TOOLCHAIN.md 2.3). It computes one
// stream at a time: before a run the chosen stream's parameter values are copied into
// the graph, and after a backward pass the gradients are read back under that stream's
// names (MODEL.md 1.3).
type Window struct {
	*graph
	N, T    int
	Burnin  int
	vm      G.VM
	grad    bool
	lum     *G.Node   // [N·T, 1, H, W]
	eye     *G.Node   // [N·T, 2]
	jitter  *G.Node   // [N·T, 6]
	beh     *G.Node   // [N, T, 2]
	eps     *G.Node   // [N, U, 2]
	target  *G.Node   // [N, T, U]
	dropout *G.Node   // [N, D] dropout masks of a training window (nil without dropout)
	ones    []float32 // [N, D] the masks of a batch without dropout
	logRate *G.Node   // [N, T, U]
	lrValue G.Value   // a copy of logRate's value, taken by a read op: gorgonia may reuse
	// the buffers of intermediate nodes later in the same run
	loss   *G.Node // scalar
	lumBuf []float32
	jitBuf []float32
	lrBuf  []float32 // the log-rates Run returns
	mean   []float64 // Evaluate's running mean of the streams' log-rates
	rates  []float32 // the rates Evaluate returns
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
	return buildTagged(func(attempt int) (*Window, error) {
		return buildWindow(n, sess, N, T, burnin, grad, dt, attempt)
	})
}

// buildWindow builds a Window with the node names of build attempt attempt (buildTagged).
func buildWindow(n *Network, sess *Session, N, T, burnin int, grad bool, dt tensor.Dtype, attempt int) (*Window, error) {
	cfg := n.Config
	H, W, U := cfg.StimulusHeight, cfg.StimulusWidth, sess.Units
	gr, err := newGraph(n, sess, dt, attempt)
	if err != nil {
		return nil, err
	}
	w := &Window{graph: gr, N: N, T: T, Burnin: burnin, grad: grad}
	w.lum = gr.input("input.luminance", N*T, 1, H, W)
	w.eye = gr.input("input.eye", N*T, 2)
	w.jitter = gr.input("input.jitter", N*T, 6)
	w.beh = gr.input("input.behavior", N, T, 2)
	w.eps = gr.input("input.eps", N, U, 2)
	w.target = gr.input("input.target", N, T, U)

	b := n.builder(gr.g)
	if sites := n.DropoutSites(); grad && len(sites) > 0 {
		w.dropout = gr.input("input.dropout", N, dropoutWidth(sites))
		masks := map[string]*G.Node{}
		off := 0
		for _, s := range sites {
			masks[s.Name] = b.Slice(w.dropout, 1, off, off+s.Width)
			off += s.Width
		}
		b.SetDropout(masks)
	}
	slots := gr.slots
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
		if grad {
			if _, err := G.Grad(w.loss, w.learn...); err != nil {
				return nil, fmt.Errorf("model: gradient graph: %w", err)
			}
		}
	}
	if err := gr.check(b, "window"); err != nil {
		return nil, err
	}
	if grad {
		w.vm = G.NewTapeMachine(gr.g, G.BindDualValues(w.learn...))
	} else {
		w.vm = G.NewTapeMachine(gr.g)
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
	if err := w.setStream(s); err != nil {
		return 0, nil, err
	}
	if err := w.letBatch(in); err != nil {
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
	w.lrBuf = toFloat32(w.lrBuf, w.lrValue.Data())
	return loss, w.lrBuf, nil
}

// letBatch checks the batch's sizes and binds it to the inputs.
func (w *Window) letBatch(in *Batch) error {
	N, T, U := w.N, w.T, w.sess.Units
	HW := w.net.Config.StimulusHeight * w.net.Config.StimulusWidth
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
	w.sess.Perspective.Luminance(w.lumBuf, in.Frames)
	for n := range N { // one jitter draw per sequence, repeated over its frames
		for t := range T {
			copy(w.jitBuf[(n*T+t)*6:(n*T+t+1)*6], in.Jitter[n*6:(n+1)*6])
		}
	}
	for _, l := range []struct {
		node *G.Node
		data []float32
	}{{w.lum, w.lumBuf}, {w.eye, in.Eye}, {w.jitter, w.jitBuf}, {w.beh, in.Behavior}, {w.eps, in.Eps}, {w.target, in.Targets}} {
		if err := w.let(l.node, l.data); err != nil {
			return err
		}
	}
	if w.dropout != nil {
		masks, size := in.Dropout, w.dropout.Shape().TotalSize()
		switch {
		case masks == nil: // no dropout: all ones
			if w.ones == nil {
				w.ones = slices.Repeat([]float32{1}, size)
			}
			masks = w.ones
		case len(masks) != size:
			return fmt.Errorf("model: batch dropout has %d values, the window needs %d", len(masks), size)
		}
		return w.let(w.dropout, masks)
	}
	return nil
}

// Evaluate runs every stream in evaluation mode (Jitter and Eps must be zero) and returns
// the ensemble's rates [N, T, U] (valid until the next call): exp of the mean over
// streams of the log-rates (MODEL.md 1.3), and the Poisson loss of those rates after
// burn-in.
func (w *Window) Evaluate(in *Batch) ([]float32, float64, error) {
	S := w.net.Config.Streams
	w.mean = resized(w.mean, w.N*w.T*w.sess.Units)
	for s := range S {
		_, lr, err := w.Run(s, in, nil)
		if err != nil {
			return nil, 0, err
		}
		for i, v := range lr {
			w.mean[i] += float64(v) / float64(S)
		}
	}
	w.rates = w.rates[:0]
	var loss float64
	var count int
	U := w.sess.Units
	for i, r := range w.mean {
		w.rates = append(w.rates, float32(math.Exp(r)))
		t := (i / U) % w.T
		if y := float64(in.Targets[i]); t >= w.Burnin && !math.IsNaN(y) {
			loss += math.Exp(r) - y*r
			count++
		}
	}
	if count > 0 {
		loss /= float64(count)
	}
	return w.rates, loss, nil
}
