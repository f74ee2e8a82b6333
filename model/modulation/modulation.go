package modulation

import (
	G "gorgonia.org/gorgonia"

	"github.com/fmcore/fmcore/model/nn"
)

// Module is the modulation module of one session and stream.
type Module struct {
	cfg Config
}

// New builds the module.
func New(cfg Config) (*Module, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Module{cfg: cfg}, nil
}

// Width is the output width (the LSTM size).
func (m *Module) Width() int { return m.cfg.Hidden }

// weights are the per-sequence effective weights of the module.
type weights struct {
	mlp, mlpBias *G.Node // [F, 2, 1, 1, 1], [F]
	gates        *G.Node // [4·Hd, F+Hd]: i, f, g, o rows stacked, standardised
	gateBias     *G.Node // [4·Hd]
}

func (m *Module) weights(b *nn.Builder, p *nn.Params) weights {
	mlp := m.cfg.MLP()
	var ws, bs []*G.Node
	for _, g := range m.cfg.Gates() {
		ws = append(ws, b.Reshape(b.Weight(p, g), g.Out, g.In))
		bs = append(bs, b.ConvBias(p, g))
	}
	return weights{mlp: b.Weight(p, mlp), mlpBias: b.ConvBias(p, mlp), gates: b.Concat(0, ws...), gateBias: b.Concat(0, bs...)}
}

// Forward runs a whole sequence from reset (h = c = 0):
//
//	beh [N, T, 2]  pupil radius and running speed, standardised
//	out [N, T, Hd] the modulation vector of every frame
func (m *Module) Forward(b *nn.Builder, p *nn.Params, beh *G.Node) *G.Node {
	defer b.Scope("modulation")()
	if b.Err() != nil {
		return nil
	}
	N, T := beh.Shape()[0], beh.Shape()[1]
	w := m.weights(b, p)
	F, Hd := m.cfg.Features, m.cfg.Hidden
	// The MLP has no recurrence: run it on every frame at once.
	x := b.Act(b.Linear(b.Reshape(beh, N*T, Inputs), w.mlp, w.mlpBias, Inputs, F), m.cfg.Nonlinearity)
	x = b.Reshape(x, N, T, F)
	var h, c *G.Node
	outs := make([]*G.Node, T)
	for t := range T {
		xt := b.Reshape(b.Slice(x, 1, t, t+1), N, F)
		h, c = m.step(b, w, xt, h, c)
		outs[t] = b.Reshape(h, N, 1, Hd)
	}
	return b.Concat(1, outs...)
}

// Step advances one frame: beh [N, 2], state h, c [N, Hd] (nil after reset) → the
// modulation vector h' [N, Hd] (also the new h) and c'.
func (m *Module) Step(b *nn.Builder, p *nn.Params, beh, h, c *G.Node) (hNext, cNext *G.Node) {
	defer b.Scope("modulation")()
	w := m.weights(b, p)
	x := b.Act(b.Linear(beh, w.mlp, w.mlpBias, Inputs, m.cfg.Features), m.cfg.Nonlinearity)
	return m.step(b, w, x, h, c)
}

// The dropout sites of the modulation LSTM: its input x and its new state h (MODEL.md 4.2).
const (
	DropoutX = "modulation.lstm.x"
	DropoutH = "modulation.lstm.h"
)

// step is one LSTM update on x [N, F] (MODEL.md 4.2).
func (m *Module) step(b *nn.Builder, w weights, x, h, c *G.Node) (*G.Node, *G.Node) {
	if b.Err() != nil {
		return nil, nil
	}
	N := x.Shape()[0]
	F, Hd := m.cfg.Features, m.cfg.Hidden
	if h == nil {
		h = b.Fixed(x.Dtype(), nil, N, Hd)
	}
	xh := b.Concat(1, b.Dropout(DropoutX, x), h)
	gates := b.Linear(xh, w.gates, w.gateBias, F+Hd, 4*Hd) // [N, 4·Hd], i f g o
	cNext, hNext := b.LSTM(b.Reshape(gates, N, 1, 4, Hd, 1), c, 1)
	return b.Dropout(DropoutH, b.Reshape(hNext, N, Hd)), b.Reshape(cNext, N, Hd, 1) // the dropped h is the state
}
