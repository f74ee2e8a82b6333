package readout

import (
	"math"

	G "gorgonia.org/gorgonia"

	"github.com/fmcore/fmcore/model/nn"
)

// Module is the readout of one session.
type Module struct {
	cfg   Config
	units int
	width int
}

// New builds the readout of u units reading a core of width channels.
func New(cfg Config, u, width int) (*Module, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Module{cfg: cfg, units: u, width: width}, nil
}

// Units is U.
func (m *Module) Units() int { return m.units }

// Positions returns the units' sampling positions in grid coordinates [N, U, 2] (x, y in
// (−1, 1)): tanh(mu + sigma·ε), with ε [N, U, 2] drawn once per sequence in training and
// zero in evaluation (MODEL.md 4.6).
func (m *Module) Positions(b *nn.Builder, p *nn.Params, eps *G.Node) *G.Node {
	defer b.Scope("readout")()
	if b.Err() != nil {
		return nil
	}
	N, U := eps.Shape()[0], m.units
	sigma := b.Reshape(p.Get("readout.sigma"), 1, U, 2, 2)
	e := b.Reshape(eps, N, U, 1, 2)
	shift := b.Sum(b.BroadcastMul(sigma, e, []byte{0}, []byte{2}), 3) // [N, U, 2]: Σ_j sigma_ij ε_j
	pos := b.BroadcastAdd(shift, b.Reshape(p.Get("readout.mu"), 1, U, 2), nil, []byte{0})
	return b.Tanh(pos)
}

// Forward reads the core at the given positions:
//
//	core [N, C, T, H, W]  core output of one stream
//	pos  [N, U, 2]        from Positions
//	out  [N, T, U]        log-rates of that stream
func (m *Module) Forward(b *nn.Builder, p *nn.Params, core, pos *G.Node) *G.Node {
	defer b.Scope("readout")()
	if b.Err() != nil {
		return nil
	}
	s := core.Shape()
	N, C, T, H, W := s[0], s[1], s[2], s[3], s[4]
	U := m.units
	// Frames share the positions: sample the C·T planes of each sequence at once.
	feat := b.GridSample(b.Reshape(core, N, C*T, H, W), pos, true) // [N, C·T, U], border padding
	feat = b.Reshape(feat, N, C, T, U)
	w := b.Reshape(b.Transpose(p.Get("readout.features"), 1, 0), 1, C, 1, U)
	r := b.Sum(b.BroadcastMul(feat, w, []byte{}, []byte{0, 2}), 1) // [N, T, U]
	return b.BroadcastAdd(r, b.Reshape(p.Get("readout.bias"), 1, 1, U), nil, []byte{0, 1})
}

// maxPosition bounds the grid coordinate that PositionParam places a unit at, so that mu
// stays finite and tanh keeps a usable gradient there.
const maxPosition = 0.95

// PositionParam returns the value of mu that puts a unit at grid coordinate g (x or y,
// −1 to 1 across the core's map) at evaluation, where the position is tanh(mu):
// atanh(g), with g clamped to ±0.95.
func PositionParam(g float64) float32 {
	return float32(math.Atanh(math.Max(-maxPosition, math.Min(maxPosition, g))))
}
