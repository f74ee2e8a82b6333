package core

import (
	"errors"
	"fmt"
	"math"

	"github.com/fmcore/fmcore/model/nn"
)

// Recurrent is the type of the recurrent core.
type Recurrent string

// The recurrent cores (MODEL.md 4.4, 4.5).
const (
	CvtLSTM  Recurrent = "cvt_lstm"  // convolutional-attention LSTM of the released model
	ConvLSTM Recurrent = "conv_lstm" // plain convolutional LSTM
)

// Config configures the FeedforwardRecurrent core.
type Config struct {
	Feedforward FeedforwardConfig `yaml:"feedforward"`
	Recurrent   RecurrentConfig   `yaml:"recurrent"`
}

// FeedforwardConfig configures InputDense (MODEL.md 4.3).
type FeedforwardConfig struct {
	InputKernel  int             `yaml:"input_kernel"` // spatial kernel of input projection 0
	InputStride  int             `yaml:"input_stride"` // its stride
	Channels     []int           `yaml:"channels"`     // C per block
	Groups       []int           `yaml:"groups"`       // G per block
	Layers       []int           `yaml:"layers"`       // L per block
	Temporal     []int           `yaml:"temporal"`     // temporal kernel per block
	Spatial      []int           `yaml:"spatial"`      // spatial kernel per block
	Pools        []int           `yaml:"pools"`        // average-pool size after each block (1 = none)
	OutChannels  int             `yaml:"out_channels"`
	Nonlinearity nn.Nonlinearity `yaml:"nonlinearity"`
	// Dropout is the variational dropout rate of each layer's input (MODEL.md 1.3, 4.3;
	// released 0).
	Dropout float64 `yaml:"dropout"`
}

// RecurrentConfig configures CvtLstm or ConvLstm (MODEL.md 4.4, 4.5).
type RecurrentConfig struct {
	Type        Recurrent `yaml:"type"`
	In          int       `yaml:"in"`           // channels of the input projection x
	Hidden      int       `yaml:"hidden"`       // LSTM channels
	OutChannels int       `yaml:"out_channels"` // core output channels
	Common      int       `yaml:"common"`       // channels of z, q, k, v (cvt_lstm)
	Groups      int       `yaml:"groups"`
	Spatial     int       `yaml:"spatial"` // spatial kernel of z (cvt) or of the gates (conv)
	InitInput   float32   `yaml:"init_input"`
	InitForget  float32   `yaml:"init_forget"`
	Dropout     float64   `yaml:"dropout"` // of x and h (MODEL.md 4.4; released 0)
	// OutGain initialises the gain of the standardised 1×1 output conv (released: 1). The
	// core's output, and so the readout's gradients, scale with it.
	OutGain float32 `yaml:"out_gain"`
}

// Default returns the released configuration (MODEL.md 2).
func Default() Config {
	return Config{
		Feedforward: FeedforwardConfig{InputKernel: 6, InputStride: 2, Channels: []int{32, 64, 128}, Groups: []int{1, 2, 4},
			Layers: []int{2, 2, 2}, Temporal: []int{3, 3, 3}, Spatial: []int{3, 3, 3}, Pools: []int{2, 2, 1},
			OutChannels: 128, Nonlinearity: nn.GELU},
		Recurrent: RecurrentConfig{Type: CvtLSTM, In: 256, Hidden: 256, OutChannels: 128, Common: 512, Groups: 8, Spatial: 3,
			InitInput: -1, InitForget: 1, OutGain: 1},
	}
}

// Validate reports the first invalid field, named by its config key.
func (c Config) Validate() error {
	f := c.Feedforward
	n := len(f.Channels)
	if n == 0 {
		return errors.New("core.feedforward.channels: want at least one block")
	}
	for key, l := range map[string][]int{"groups": f.Groups, "layers": f.Layers, "temporal": f.Temporal, "spatial": f.Spatial, "pools": f.Pools} {
		if len(l) != n {
			return fmt.Errorf("core.feedforward.%s has %d entries, channels has %d: give one per block", key, len(l), n)
		}
	}
	switch {
	case f.InputKernel < 1 || f.InputStride < 1 || (f.InputKernel-f.InputStride)%2 != 0:
		return fmt.Errorf("core.feedforward.input_kernel %d / input_stride %d: want positive values whose difference is even (padding (k−s)/2)", f.InputKernel, f.InputStride)
	case f.OutChannels < 1:
		return fmt.Errorf("core.feedforward.out_channels %d, want a positive size", f.OutChannels)
	case !(f.Dropout >= 0 && f.Dropout < 1):
		return fmt.Errorf("core.feedforward.dropout %g, want [0, 1)", f.Dropout)
	}
	for b := range n {
		switch {
		case f.Channels[b] < 1 || f.Groups[b] < 1 || f.Channels[b]%f.Groups[b] != 0:
			return fmt.Errorf("core.feedforward block %d: %d channels in %d groups, want groups dividing channels", b, f.Channels[b], f.Groups[b])
		case f.Layers[b] < 1:
			return fmt.Errorf("core.feedforward.layers[%d] = %d, want at least 1", b, f.Layers[b])
		case f.Temporal[b] < 1 || f.Spatial[b] < 1 || f.Spatial[b]%2 == 0:
			return fmt.Errorf("core.feedforward block %d: temporal %d, spatial %d: want positive kernels, spatial odd", b, f.Temporal[b], f.Spatial[b])
		case f.Pools[b] != 1 && f.Pools[b] != 2:
			return fmt.Errorf("core.feedforward.pools[%d] = %d, want 1 (none) or 2 (2×2 average pooling)", b, f.Pools[b])
		}
	}
	if err := f.Nonlinearity.Validate(); err != nil {
		return fmt.Errorf("core.feedforward.%w", err)
	}
	r := c.Recurrent
	switch {
	case r.Type != CvtLSTM && r.Type != ConvLSTM:
		return fmt.Errorf("core.recurrent.type %q, want cvt_lstm or conv_lstm", r.Type)
	case r.Groups < 1:
		return fmt.Errorf("core.recurrent.groups %d, want a positive number", r.Groups)
	case r.In < 1 || r.In%r.Groups != 0:
		return fmt.Errorf("core.recurrent.in %d, want a positive multiple of groups %d", r.In, r.Groups)
	case r.Hidden < 1 || r.Hidden%r.Groups != 0:
		return fmt.Errorf("core.recurrent.hidden %d, want a positive multiple of groups %d", r.Hidden, r.Groups)
	case r.Type == CvtLSTM && (r.Common < 1 || r.Common%r.Groups != 0):
		return fmt.Errorf("core.recurrent.common %d, want a positive multiple of groups %d", r.Common, r.Groups)
	case r.OutChannels < 1:
		return fmt.Errorf("core.recurrent.out_channels %d, want a positive size", r.OutChannels)
	case !(r.OutGain > 0) || math.IsInf(float64(r.OutGain), 0):
		return fmt.Errorf("core.recurrent.out_gain %g, want a finite value > 0 (released: 1)", r.OutGain)
	case r.Spatial < 1 || r.Spatial%2 == 0:
		return fmt.Errorf("core.recurrent.spatial %d, want a positive odd kernel", r.Spatial)
	case !(r.Dropout >= 0 && r.Dropout < 1):
		return fmt.Errorf("core.recurrent.dropout %g, want [0, 1)", r.Dropout)
	}
	return nil
}

// OutChannels is the number of core output channels (the readout's feature width).
func (c Config) OutChannels() int { return c.Recurrent.OutChannels }

// OutSize returns the core's output map size for an h×w retinal image, or an error when
// a stage would be empty.
func (c Config) OutSize(h, w int) (int, int, error) {
	f := c.Feedforward
	pad := (f.InputKernel - f.InputStride) / 2
	h = (h+2*pad-f.InputKernel)/f.InputStride + 1
	w = (w+2*pad-f.InputKernel)/f.InputStride + 1
	for b, p := range f.Pools {
		h, w = h/p, w/p
		if h < 1 || w < 1 {
			return 0, 0, fmt.Errorf("core: the retinal image is too small: empty after block %d", b)
		}
	}
	return h, w, nil
}

// ---------------------------------------------------------------------------------------
// Layer specs, shared by Params and the module builders.

// InputSpec returns the spec of feedforward input projection b.
func (f FeedforwardConfig) InputSpec(b int) nn.ConvSpec {
	if b == 0 {
		return nn.ConvSpec{Name: "core.feedforward.inputs.0", In: 1, Out: f.Channels[0], Groups: 1,
			KT: 1, KH: f.InputKernel, KW: f.InputKernel, Bias: true}
	}
	return nn.ConvSpec{Name: fmt.Sprintf("core.feedforward.inputs.%d", b), In: (f.Layers[b-1] + 1) * f.Channels[b-1], Out: f.Channels[b],
		Groups: 1, KT: 1, KH: 1, KW: 1, Standardized: true, Gain: 1, Bias: true}
}

// ConvLayerSpec returns the spec of conv_l of block b.
func (f FeedforwardConfig) ConvLayerSpec(b, l int) nn.ConvSpec {
	gain := float32(1)
	if l > 0 {
		gain = float32(math.Sqrt(0.5))
	}
	C := f.Channels[b]
	return nn.ConvSpec{Name: fmt.Sprintf("core.feedforward.blocks.%d.convs.%d", b, l), In: C, Out: C, Groups: f.Groups[b],
		KT: f.Temporal[b], KH: f.Spatial[b], KW: f.Spatial[b], Standardized: true, Gain: gain, Bias: true}
}

// SkipSpec returns the spec of skip_l (l ≥ 1) of block b: grouped 1×1 from l·C to C.
func (f FeedforwardConfig) SkipSpec(b, l int) nn.ConvSpec {
	C := f.Channels[b]
	return nn.ConvSpec{Name: fmt.Sprintf("core.feedforward.blocks.%d.skips.%d", b, l), In: l * C, Out: C, Groups: f.Groups[b],
		KT: 1, KH: 1, KW: 1, Standardized: true, Gain: float32(math.Sqrt(0.5))}
}

// OutSpec returns the spec of the feedforward output projection.
func (f FeedforwardConfig) OutSpec() nn.ConvSpec {
	last := len(f.Channels) - 1
	return nn.ConvSpec{Name: "core.feedforward.out", In: (f.Layers[last] + 1) * f.Channels[last], Out: f.OutChannels,
		Groups: 1, KT: 1, KH: 1, KW: 1, Standardized: true, Gain: 1, Bias: true}
}

// Params lists the feedforward parameters of stream s (477,056 per stream released).
func (f FeedforwardConfig) Params(s int) []nn.ParamSpec {
	var ps []nn.ParamSpec
	for b := range f.Channels {
		ps = append(ps, f.InputSpec(b).Params(s)...)
		for l := range f.Layers[b] {
			ps = append(ps, f.ConvLayerSpec(b, l).Params(s)...)
			if l > 0 {
				ps = append(ps, f.SkipSpec(b, l).Params(s)...)
			}
		}
	}
	return append(ps, f.OutSpec().Params(s)...)
}

// projGain is the initial gain of each input-projection term: (inputs + 1)^−0.5 with
// three terms when the InterGroup term exists, two otherwise (MODEL.md 4.4 step 1).
func (r RecurrentConfig) projGain() float32 {
	if r.Groups > 1 {
		return float32(1 / math.Sqrt(3))
	}
	return float32(1 / math.Sqrt(2))
}

// ProjFSpec is the 1×1 projection of the feedforward output (ffOut channels) into x.
func (r RecurrentConfig) ProjFSpec(ffOut int) nn.ConvSpec {
	return nn.ConvSpec{Name: "core.recurrent.proj_f", In: ffOut, Out: r.In, Groups: 1, KT: 1, KH: 1, KW: 1,
		Standardized: true, Gain: r.projGain(), Bias: true}
}

// ProjMSpec is the 1×1 projection of the modulation vector (mod channels) into x.
func (r RecurrentConfig) ProjMSpec(mod int) nn.ConvSpec {
	return nn.ConvSpec{Name: "core.recurrent.proj_m", In: mod, Out: r.In, Groups: 1, KT: 1, KH: 1, KW: 1,
		Standardized: true, Gain: r.projGain()}
}

// ProjHParams lists the InterGroup parameters of stream s (none when Groups = 1): the
// weight [G, G−1, In/G, Hidden/G], standardised per (output group, output channel).
func (r RecurrentConfig) ProjHParams(s int) []nn.ParamSpec {
	G := r.Groups
	if G == 1 {
		return nil
	}
	return []nn.ParamSpec{
		{Name: nn.StreamName("core.recurrent.proj_h.weight", s), Shape: []int{G, G - 1, r.In / G, r.Hidden / G},
			FanIn: (G - 1) * r.Hidden / G, Init: nn.Uniform(), Scale: 1, Decay: true, NormDims: []int{1, 3}, Stream: s},
		{Name: nn.StreamName("core.recurrent.proj_h.gain", s), Shape: []int{r.In}, Init: nn.Const(r.projGain()), Scale: 1, Stream: s},
	}
}

// ZSpec is the grouped spatial conv of xh into z (cvt_lstm).
func (r RecurrentConfig) ZSpec() nn.ConvSpec {
	return nn.ConvSpec{Name: "core.recurrent.z", In: r.In + r.Hidden, Out: r.Common, Groups: r.Groups,
		KT: 1, KH: r.Spatial, KW: r.Spatial, Standardized: true}
}

// QKVSpec is the grouped 1×1 conv of z into q, k or v (name "q", "k", "v").
func (r RecurrentConfig) QKVSpec(name string) nn.ConvSpec {
	return nn.ConvSpec{Name: "core.recurrent." + name, In: r.Common, Out: r.Common, Groups: r.Groups,
		KT: 1, KH: 1, KW: 1, Standardized: true}
}

// GateSpecs are the i, f, g, o convs: on cat_groups[z, a] for cvt_lstm, on xh for
// conv_lstm.
func (r RecurrentConfig) GateSpecs() []nn.ConvSpec {
	bias := []float32{r.InitInput, r.InitForget, 0, 0}
	var out []nn.ConvSpec
	for i, g := range []string{"i", "f", "g", "o"} {
		spec := nn.ConvSpec{Name: "core.recurrent.gates." + g, Out: r.Hidden, Groups: r.Groups, KT: 1,
			Standardized: true, Gain: 1, Bias: true, BiasInit: bias[i]}
		if r.Type == CvtLSTM {
			spec.In, spec.KH, spec.KW = 2*r.Common, 1, 1
		} else {
			spec.In, spec.KH, spec.KW = r.In+r.Hidden, r.Spatial, r.Spatial
		}
		out = append(out, spec)
	}
	return out
}

// OutSpec is the 1×1 output conv from h.
func (r RecurrentConfig) OutSpec() nn.ConvSpec {
	return nn.ConvSpec{Name: "core.recurrent.out", In: r.Hidden, Out: r.OutChannels, Groups: 1, KT: 1, KH: 1, KW: 1,
		Standardized: true, Gain: r.OutGain, Bias: true}
}

// Params lists the recurrent parameters of stream s, given the feedforward output and
// modulation widths (655,104 per stream released).
func (r RecurrentConfig) Params(s, ffOut, mod int) []nn.ParamSpec {
	ps := r.ProjHParams(s)
	ps = append(ps, r.ProjFSpec(ffOut).Params(s)...)
	ps = append(ps, r.ProjMSpec(mod).Params(s)...)
	if r.Type == CvtLSTM {
		ps = append(ps, r.ZSpec().Params(s)...)
		for _, n := range []string{"q", "k", "v"} {
			ps = append(ps, r.QKVSpec(n).Params(s)...)
		}
		ps = append(ps, nn.ParamSpec{Name: nn.StreamName("core.recurrent.scales", s), Shape: []int{r.Groups, r.Common / r.Groups},
			Init: nn.Const(1), Scale: 1, NormDims: []int{1}, Stream: s})
	}
	for _, g := range r.GateSpecs() {
		ps = append(ps, g.Params(s)...)
	}
	return append(ps, r.OutSpec().Params(s)...)
}

// Params lists the core parameters of stream s; mod is the modulation width.
func (c Config) Params(s, mod int) []nn.ParamSpec {
	return append(c.Feedforward.Params(s), c.Recurrent.Params(s, c.Feedforward.OutChannels, mod)...)
}
