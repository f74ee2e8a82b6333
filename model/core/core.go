package core

import (
	G "gorgonia.org/gorgonia"

	"github.com/fmcore/fmcore/model/nn"
)

// Core is the shared FeedforwardRecurrent core of one stream.
type Core struct {
	cfg Config
	ff  *Feedforward
	rec *RecurrentCore
}

// New builds the core; mod is the width of the modulation vector it reads.
func New(cfg Config, mod int) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Core{cfg: cfg, ff: NewFeedforward(cfg.Feedforward), rec: NewRecurrent(cfg.Recurrent, cfg.Feedforward.OutChannels, mod)}, nil
}

// Width is the number of output channels.
func (c *Core) Width() int { return c.cfg.OutChannels() }

// Forward runs the core over a window from reset (st == nil) or one streaming step:
//
//	retina [N, 1, T, H, W]  retinal images
//	mod    [N, T, Mod]      modulation vectors
//	out    [N, Out, T, H/8, W/8] (for the released strides)
func (c *Core) Forward(b *nn.Builder, p *nn.Params, retina, mod *G.Node, st *State) *G.Node {
	f := c.ff.Forward(b, p, retina, st)
	return c.rec.Forward(b, p, f, mod, st)
}
