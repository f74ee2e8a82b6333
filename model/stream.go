package model

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/fmcore/fmcore/model/core"
)

// Stepper is the streaming form of the network (MODEL.md 1.1): a one-frame graph that
// carries the recurrent states and the temporal-convolution histories from call to call,
// so a video of any length is predicted in constant memory. It runs every stream in
// evaluation mode and returns the ensemble's rates.
type Stepper struct {
	*graph
	N      int
	vm     G.VM
	lum    *G.Node // [N, 1, H, W]
	eye    *G.Node // [N, 2]
	jitter *G.Node // [N, 6], zero
	beh    *G.Node // [N, 2]
	eps    *G.Node // [N, U, 2], zero
	out    *G.Node // [N, 1, U]
	outVal G.Value // copy of out's value (see Window.lrValue)
	// ins and outs are the state inputs and the matching outputs: every temporal
	// convolution's history and the recurrent h, c of the core and of the modulation.
	ins, outs []*G.Node
	stVals    []G.Value // copies of the outputs' values
	// state[s][i] holds stream s's value of state input i.
	state  [][][]float32
	lumBuf []float32
	zeroJ  []float32 // [N·6] zeros: no monitor jitter in evaluation
	zeroE  []float32 // [N·U·2] zeros: readout positions at their means
	mean   []float64 // [N·U] mean of the streams' log-rates
	rates  []float32 // [N·U] the rates Step returns
}

// NewStepper compiles the one-frame graph of session key for N parallel sequences.
func (n *Network) NewStepper(key string, N int) (*Stepper, error) {
	sess, ok := n.Sessions[key]
	if !ok {
		return nil, fmt.Errorf("model: no session %s", key)
	}
	if N < 1 {
		return nil, fmt.Errorf("model: stepper for %d sequences", N)
	}
	return newStepper(n, sess, N, tensor.Float32)
}

func newStepper(n *Network, sess *Session, N int, dt tensor.Dtype) (*Stepper, error) {
	return buildTagged(func(attempt int) (*Stepper, error) { return buildStepper(n, sess, N, dt, attempt) })
}

// buildStepper builds a Stepper with the node names of build attempt attempt (buildTagged).
func buildStepper(n *Network, sess *Session, N int, dt tensor.Dtype, attempt int) (*Stepper, error) {
	cfg := n.Config
	H, W, U, Hm := cfg.StimulusHeight, cfg.StimulusWidth, sess.Units, cfg.Modulation.Hidden
	gr, err := newGraph(n, sess, dt, attempt)
	if err != nil {
		return nil, err
	}
	st := &Stepper{graph: gr, N: N}
	st.lum = gr.input("input.luminance", N, 1, H, W)
	st.eye = gr.input("input.eye", N, 2)
	st.jitter = gr.input("input.jitter", N, 6)
	st.beh = gr.input("input.behavior", N, 2)
	st.eps = gr.input("input.eps", N, U, 2)
	modH := gr.input("state.modulation.h", N, Hm)
	modC := gr.input("state.modulation.c", N, Hm, 1)

	b := n.builder(gr.g)
	slots := gr.slots
	hr, wr := sess.Perspective.OutShape()
	retina := b.Reshape(sess.Perspective.Forward(b, slots, st.lum, st.eye, st.jitter), N, 1, 1, hr, wr)
	modHo, modCo := sess.Modulation.Step(b, slots, st.beh, modH, modC)
	cs := core.NewState()
	coreOut := n.Core.Forward(b, slots, retina, b.Reshape(modHo, N, 1, Hm), cs)
	st.out = sess.Readout.Forward(b, slots, coreOut, sess.Readout.Positions(b, slots, st.eps))
	for _, name := range cs.Names() {
		st.ins, st.outs = append(st.ins, cs.In[name]), append(st.outs, cs.Out[name])
	}
	st.ins, st.outs = append(st.ins, modH, modC), append(st.outs, modHo, modCo)
	if b.Err() == nil {
		G.Read(st.out, &st.outVal)
		st.stVals = make([]G.Value, len(st.outs))
		for i, o := range st.outs {
			G.Read(o, &st.stVals[i])
		}
	}
	if err := gr.check(b, "stepper"); err != nil {
		return nil, err
	}
	st.vm = G.NewTapeMachine(gr.g)
	st.lumBuf = make([]float32, N*H*W)
	st.zeroJ, st.zeroE = make([]float32, N*6), make([]float32, N*U*2)
	st.mean, st.rates = make([]float64, N*U), make([]float32, N*U)
	st.Reset()
	return st, nil
}

// Reset starts new sequences: every state is zero (MODEL.md 1.2).
func (s *Stepper) Reset() {
	s.state = make([][][]float32, s.net.Config.Streams)
	for k := range s.state {
		s.state[k] = make([][]float32, len(s.ins))
		for i, node := range s.ins {
			s.state[k][i] = make([]float32, node.Shape().TotalSize())
		}
	}
}

// Step feeds one frame of each of the N sequences and returns the ensemble's rates
// [N, U] for that frame (valid until the next Step):
//
//	frames   [N, H, W] stimulus pixels
//	eye      [N, 2]    perspective input
//	behavior [N, 2]    modulation input
func (s *Stepper) Step(frames []uint8, eye, behavior []float32) ([]float32, error) {
	cfg := s.net.Config
	N := s.N
	if len(frames) != N*cfg.StimulusHeight*cfg.StimulusWidth || len(eye) != 2*N || len(behavior) != 2*N {
		return nil, fmt.Errorf("model: step got %d pixels, %d eye and %d behaviour values for %d sequences of %d×%d frames",
			len(frames), len(eye), len(behavior), N, cfg.StimulusHeight, cfg.StimulusWidth)
	}
	s.sess.Perspective.Luminance(s.lumBuf, frames)
	clear(s.mean)
	S := cfg.Streams
	for k := range S {
		if err := s.setStream(k); err != nil {
			return nil, err
		}
		for _, l := range []struct {
			node *G.Node
			data []float32
		}{{s.lum, s.lumBuf}, {s.eye, eye}, {s.beh, behavior}, {s.jitter, s.zeroJ}, {s.eps, s.zeroE}} {
			if err := s.let(l.node, l.data); err != nil {
				return nil, err
			}
		}
		for i, node := range s.ins {
			if err := s.let(node, s.state[k][i]); err != nil {
				return nil, err
			}
		}
		s.vm.Reset()
		if err := s.vm.RunAll(); err != nil {
			return nil, fmt.Errorf("model: step: %w", err)
		}
		for i, v := range s.stVals {
			s.state[k][i] = toFloat32(s.state[k][i], v.Data())
		}
		for i, v := range toFloat32(s.rates, s.outVal.Data()) {
			s.mean[i] += float64(v) / float64(S)
		}
	}
	for i, r := range s.mean {
		s.rates[i] = float32(math.Exp(r))
	}
	return s.rates, nil
}
