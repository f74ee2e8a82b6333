package model

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/fmcore/fmcore/model/core"
	"github.com/fmcore/fmcore/model/nn"
	"github.com/fmcore/fmcore/model/perspective"
)

// Stepper is the streaming form of the network (MODEL.md 1.1): a one-frame graph that
// carries the recurrent states and the temporal-convolution histories from call to call,
// so a video of any length is predicted in constant memory. It runs every stream in
// evaluation mode and returns the ensemble's rates.
type Stepper struct {
	net    *Network
	sess   *Session
	N      int
	dt     tensor.Dtype
	g      *G.ExprGraph
	vm     G.VM
	learn  []*G.Node
	names  []string
	lum    *G.Node // [N, 1, H, W]
	eye    *G.Node // [N, 2]
	jitter *G.Node // [N, 6], zero
	beh    *G.Node // [N, 1, 2]
	eps    *G.Node // [N, U, 2], zero
	modH   *G.Node // [N, Hm]
	modC   *G.Node // [N, Hm, 1]
	modHo  *G.Node
	modCo  *G.Node
	st     *core.State
	out    *G.Node   // [N, 1, U]
	outVal G.Value   // copy of out's value (see Window.lrValue)
	stVals []G.Value // copies of the state outputs, in stateInputs order
	// state[s][i] holds stream s's value of state input i (order: st.Names, then modH, modC).
	state  [][][]float32
	lumBuf []float32
	zeros  map[*G.Node][]float32
	frames int
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
	cfg := n.Config
	H, W, U, Hm := cfg.StimulusHeight, cfg.StimulusWidth, sess.Units, cfg.Modulation.Hidden
	g := G.NewGraph()
	st := &Stepper{net: n, sess: sess, N: N, dt: dt, g: g, zeros: map[*G.Node][]float32{}}
	specs := append(append([]nn.ParamSpec{}, n.coreSpecs...), sess.specs...)
	slots, err := nn.NewSlots(g, dt, specs)
	if err != nil {
		return nil, err
	}
	for _, sp := range specs {
		if sp.Stream > 0 {
			continue
		}
		name := nn.SlotName(sp)
		st.learn = append(st.learn, slots.Nodes()[name])
		st.names = append(st.names, name)
	}
	in := func(name string, shape ...int) *G.Node {
		return G.NewTensor(g, dt, len(shape), G.WithShape(shape...), G.WithName(name))
	}
	st.lum = in("input.luminance", N, 1, H, W)
	st.eye = in("input.eye", N, 2)
	st.jitter = in("input.jitter", N, 6)
	st.beh = in("input.behavior", N, 2)
	st.eps = in("input.eps", N, U, 2)
	st.modH = in("state.modulation.h", N, Hm)
	st.modC = in("state.modulation.c", N, Hm, 1)

	b := nn.NewBuilder(g, nil)
	hr, wr := sess.Perspective.OutShape()
	retina := b.Reshape(sess.Perspective.Forward(b, slots, st.lum, st.eye, st.jitter), N, 1, 1, hr, wr)
	st.modHo, st.modCo = sess.Modulation.Step(b, slots, st.beh, st.modH, st.modC)
	st.st = core.NewState()
	coreOut := n.Core.Forward(b, slots, retina, b.Reshape(st.modHo, N, 1, Hm), st.st)
	st.out = sess.Readout.Forward(b, slots, coreOut, sess.Readout.Positions(b, slots, st.eps))
	if miss := slots.Missing(); len(miss) > 0 {
		return nil, fmt.Errorf("model: graph asks for parameters the config does not define: %v", miss)
	}
	if err := b.Err(); err != nil {
		return nil, fmt.Errorf("model: build stepper: %w", err)
	}
	G.Read(st.out, &st.outVal)
	_, outs := st.stateInputs()
	st.stVals = make([]G.Value, len(outs))
	for i, o := range outs {
		G.Read(o, &st.stVals[i])
	}
	if err := checkHashes(g); err != nil {
		return nil, err
	}
	st.vm = G.NewTapeMachine(g)
	st.lumBuf = make([]float32, N*H*W)
	for _, node := range []*G.Node{st.jitter, st.eps} {
		st.zeros[node] = make([]float32, node.Shape().TotalSize())
	}
	st.Reset()
	return st, nil
}

// stateInputs lists the state input nodes and their outputs in a fixed order.
func (s *Stepper) stateInputs() (ins, outs []*G.Node) {
	for _, name := range s.st.Names() {
		ins = append(ins, s.st.In[name])
		outs = append(outs, s.st.Out[name])
	}
	return append(ins, s.modH, s.modC), append(outs, s.modHo, s.modCo)
}

// Reset starts new sequences: every state is zero (MODEL.md 1.2).
func (s *Stepper) Reset() {
	ins, _ := s.stateInputs()
	s.state = make([][][]float32, s.net.Config.Streams)
	for k := range s.state {
		s.state[k] = make([][]float32, len(ins))
		for i, node := range ins {
			s.state[k][i] = make([]float32, node.Shape().TotalSize())
		}
	}
	s.frames = 0
}

// Step feeds one frame of each of the N sequences and returns the ensemble's rates
// [N, U] for that frame:
//
//	frames   [N, H, W] stimulus pixels
//	eye      [N, 2]    perspective input
//	behavior [N, 2]    modulation input
func (s *Stepper) Step(frames []uint8, eye, behavior []float32) ([]float32, error) {
	cfg := s.net.Config
	N, U := s.N, s.sess.Units
	if len(frames) != N*cfg.StimulusHeight*cfg.StimulusWidth || len(eye) != 2*N || len(behavior) != 2*N {
		return nil, fmt.Errorf("model: step got %d pixels, %d eye and %d behaviour values for %d sequences of %d×%d frames",
			len(frames), len(eye), len(behavior), N, cfg.StimulusHeight, cfg.StimulusWidth)
	}
	perspective.Luminance(s.lumBuf, frames, cfg.Perspective.MonitorPower)
	ins, outs := s.stateInputs()
	mean := make([]float64, N*U)
	S := cfg.Streams
	for k := range S {
		for i, node := range s.learn {
			if err := setData(node.Value().Data(), s.net.values[fullName(s.net, s.sess.Key, s.names[i], k)]); err != nil {
				return nil, fmt.Errorf("model: parameter %s: %w", s.names[i], err)
			}
		}
		lets := []struct {
			node *G.Node
			data []float32
		}{{s.lum, s.lumBuf}, {s.eye, eye}, {s.beh, behavior}, {s.jitter, s.zeros[s.jitter]}, {s.eps, s.zeros[s.eps]}}
		for i, node := range ins {
			lets = append(lets, struct {
				node *G.Node
				data []float32
			}{node, s.state[k][i]})
		}
		for _, l := range lets {
			if err := G.Let(l.node, backing(s.dt, l.data, l.node.Shape())); err != nil {
				return nil, fmt.Errorf("model: input %s: %w", l.node.Name(), err)
			}
		}
		s.vm.Reset()
		if err := s.vm.RunAll(); err != nil {
			return nil, fmt.Errorf("model: step: %w", err)
		}
		for i := range outs {
			copyValue(s.state[k][i], s.stVals[i].Data())
		}
		for i, v := range float32s(s.outVal.Data()) {
			mean[i] += float64(v) / float64(S)
		}
	}
	rates := make([]float32, N*U)
	for i, r := range mean {
		rates[i] = float32(math.Exp(r))
	}
	s.frames++
	return rates, nil
}

// copyValue copies a float32 or float64 tensor's data into dst.
func copyValue(dst []float32, src any) {
	switch v := src.(type) {
	case []float32:
		copy(dst, v)
	case []float64:
		for i, x := range v {
			dst[i] = float32(x)
		}
	}
}
