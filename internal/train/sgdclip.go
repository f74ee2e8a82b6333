package train

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrParam reports a parameter whose description the optimizer cannot use: sizes that disagree
// with its shape, an invalid norm axis, a non-positive scale, a duplicate name, or momentum
// state of the wrong size.
var ErrParam = errors.New("invalid parameter")

// ErrNonFinite reports a gradient element that is NaN or ±Inf. Step refuses it before any
// value changes: one such element would otherwise turn the parameter into NaN, and a NaN
// geometry parameter (the monitor pose) silently blanks the retina without making the loss
// non-finite.
var ErrNonFinite = errors.New("non-finite gradient")

// Param is one trainable tensor as the optimizer sees it, with the metadata of MODEL.md 1.6.
// The optimizer reads and writes the slices in place; the caller owns them.
type Param struct {
	Name  string    // unique key of the parameter; keys its momentum state
	Shape []int     // tensor shape, every size ≥ 1; a scalar has an empty shape
	Value []float32 // [Shape…] row-major, updated in place by Step
	Grad  []float32 // [Shape…] row-major gradient; Step uses it as scratch and zeroes it

	// HasGrad marks a gradient computed at this step. Step skips a parameter without one
	// entirely (frozen modules, streams not drawn: no momentum update, no decay) and clears the
	// flag of every parameter it updates, as PyTorch sets p.grad = None.
	HasGrad bool

	Scale    float32 // gradient multiplier, > 0: 1, or U for readout parameters
	Decay    bool    // whether weight decay applies
	NormDims []int   // axes reduced for the clipping norms; nil or empty = the whole tensor
}

// SgdClipConfig holds the hyperparameters of SgdClip (MODEL.md 7.4, released values in 7.7).
type SgdClipConfig struct {
	// LR is the base learning rate; the schedule scales it per epoch (CosineLR.LR is normally
	// this value) and Step receives the result.
	LR float64 `yaml:"lr"`
	// Momentum is μ in [0, 1); 0 disables momentum and its state.
	Momentum float64 `yaml:"momentum"`
	// Nesterov selects Nesterov momentum (d + μ·m) over heavy-ball (m); needs Momentum > 0.
	Nesterov bool `yaml:"nesterov"`
	// WeightDecay is λ ≥ 0, added as λ·p after momentum to parameters with Decay.
	WeightDecay float64 `yaml:"weight_decay"`
	// Clip is the adaptive clipping factor > 0; +Inf disables clipping.
	Clip float64 `yaml:"clip"`
	// Eps > 0 sets the clipping floor eps·sqrt(numel(p)).
	Eps float64 `yaml:"eps"`
}

// DefaultSgdClipConfig returns the released hyperparameters (MODEL.md 7.7): lr 0.1, momentum
// 0.9 with Nesterov, weight decay 1e-4, clip 0.01, eps 0.001.
func DefaultSgdClipConfig() SgdClipConfig {
	return SgdClipConfig{LR: 0.1, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-4, Clip: 0.01, Eps: 0.001}
}

// Validate reports the first hyperparameter outside its range.
func (c SgdClipConfig) Validate() error {
	switch {
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("optimizer: lr %g, want a finite value > 0 (released: 0.1)", c.LR)
	case !(c.Momentum >= 0 && c.Momentum < 1):
		return fmt.Errorf("optimizer: momentum %g, want 0 ≤ momentum < 1 (released: 0.9)", c.Momentum)
	case c.Nesterov && c.Momentum == 0:
		return fmt.Errorf("optimizer: nesterov needs momentum > 0; set momentum or nesterov: false")
	case !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0):
		return fmt.Errorf("optimizer: weight_decay %g, want a finite value ≥ 0 (released: 1e-4)", c.WeightDecay)
	case !(c.Clip > 0):
		return fmt.Errorf("optimizer: clip %g, want > 0, or .inf to disable clipping (released: 0.01)", c.Clip)
	case !(c.Eps > 0) || math.IsInf(c.Eps, 0):
		return fmt.Errorf("optimizer: eps %g, want a finite value > 0 (released: 0.001)", c.Eps)
	}
	return nil
}

// SgdClip is the optimizer of the reference, SGD with adaptive gradient clipping (MODEL.md 7.4).
// For every parameter p with a gradient g, Step applies in this order:
//
//  1. scale:    d = g · p.Scale
//  2. clip:     per slice (NormDims reduced), n_p = ‖p‖₂, n_d = ‖d‖₂,
//     m = max(clip·n_p, eps·sqrt(numel(p))), d ← d · m / max(n_d, m)
//  3. momentum: buf = μ·buf + d (buf = d at the first step); d = d + μ·buf (Nesterov) or buf
//  4. decay:    d = d + λ·p where p.Decay, after momentum, so it never enters buf
//  5. update:   p = p − lr·d, then the gradient is zeroed and HasGrad cleared
//
// The eps floor uses the size of the whole tensor even for per-slice norms, as the reference
// does (MODEL.md 13). Norms are accumulated in float64; the update itself is float32.
// The zero value is not usable; use NewSgdClip.
type SgdClip struct {
	cfg   SgdClipConfig
	state map[string]*paramState
	steps uint64 // Step calls so far; tags the states seen in the current call
}

// paramState is the optimizer's memory of one parameter.
type paramState struct {
	momentum []float32 // [numel] momentum buffer; nil until the first update or SetState
	layout   normLayout
	shape    []int     // shape the layout was built for
	normDims []int     // norm axes the layout was built for
	norms    []float64 // [2·slices] scratch: squared norms of p and d; the first half becomes the clip factors
	seen     uint64    // value of SgdClip.steps when last updated
}

// NewSgdClip returns an optimizer with no momentum state yet.
func NewSgdClip(cfg SgdClipConfig) (*SgdClip, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &SgdClip{cfg: cfg, state: map[string]*paramState{}}, nil
}

// Config returns the optimizer's hyperparameters.
func (o *SgdClip) Config() SgdClipConfig { return o.cfg }

// Step updates, in place, every parameter in params that has a gradient, with learning rate lr
// (the schedule's rate for this epoch; MODEL.md 7.5). All parameters are checked before any is
// changed, so an error leaves every value, gradient and momentum buffer untouched.
func (o *SgdClip) Step(params []*Param, lr float64) error {
	if !(lr >= 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("optimizer step: learning rate %g, want a finite value ≥ 0", lr)
	}
	o.steps++
	for _, p := range params {
		if !p.HasGrad {
			continue
		}
		if err := o.prepare(p); err != nil {
			return fmt.Errorf("optimizer step: %w", err)
		}
	}
	for _, p := range params {
		if !p.HasGrad {
			continue
		}
		o.update(p, o.state[p.Name], lr)
		p.HasGrad = false
	}
	return nil
}

// State returns a copy of the momentum buffers keyed by parameter name, [numel] each, for
// checkpoints. Parameters never updated have no entry.
func (o *SgdClip) State() map[string][]float32 {
	out := make(map[string][]float32, len(o.state))
	for name, s := range o.state {
		if s.momentum != nil {
			out[name] = slices.Clone(s.momentum)
		}
	}
	return out
}

// SetState replaces all momentum buffers with copies of state (as returned by State), to
// resume training. A buffer whose length does not match its parameter is reported by the next
// Step that updates that parameter.
func (o *SgdClip) SetState(state map[string][]float32) error {
	next := make(map[string]*paramState, len(state))
	for name, m := range state {
		if name == "" {
			return fmt.Errorf("optimizer state: momentum buffer with an empty parameter name: %w", ErrParam)
		}
		next[name] = &paramState{momentum: slices.Clone(m)}
	}
	o.state = next
	return nil
}

// prepare validates p and makes its state ready for an update.
func (o *SgdClip) prepare(p *Param) error {
	if p.Name == "" {
		return fmt.Errorf("parameter with shape %v has no name: %w", p.Shape, ErrParam)
	}
	if !(p.Scale > 0) || math.IsInf(float64(p.Scale), 0) {
		return fmt.Errorf("parameter %q: scale %g, want a finite value > 0 (1, or U for readout parameters): %w", p.Name, p.Scale, ErrParam)
	}
	s := o.state[p.Name]
	if s == nil {
		s = &paramState{}
		o.state[p.Name] = s
	}
	if s.seen == o.steps {
		return fmt.Errorf("parameter %q appears twice in one step: %w", p.Name, ErrParam)
	}
	if s.norms == nil || !slices.Equal(s.shape, p.Shape) || !slices.Equal(s.normDims, p.NormDims) {
		l, err := newNormLayout(p.Shape, p.NormDims)
		if err != nil {
			return fmt.Errorf("parameter %q: %w", p.Name, err)
		}
		s.layout, s.shape, s.normDims = l, slices.Clone(p.Shape), slices.Clone(p.NormDims)
		s.norms = make([]float64, 2*l.slices)
	}
	n := s.layout.numel
	if len(p.Value) != n || len(p.Grad) != n {
		return fmt.Errorf("parameter %q: shape %v holds %d values, got %d values and %d gradients: %w",
			p.Name, p.Shape, n, len(p.Value), len(p.Grad), ErrParam)
	}
	for i, g := range p.Grad {
		if g-g != 0 { // NaN or ±Inf
			return fmt.Errorf("parameter %q: gradient element %d is %g (the step diverged: lower the learning rate or keep adaptive clipping on): %w",
				p.Name, i, g, ErrNonFinite)
		}
	}
	if s.momentum != nil && len(s.momentum) != n {
		return fmt.Errorf("parameter %q: momentum state has %d values, shape %v holds %d (checkpoint does not match the model): %w",
			p.Name, len(s.momentum), p.Shape, n, ErrParam)
	}
	s.seen = o.steps
	return nil
}

// update applies the five steps of MODEL.md 7.4 to one validated parameter in two passes over
// its elements: scale and norms, then clip, momentum, decay, update and clear, fused.
func (o *SgdClip) update(p *Param, s *paramState, lr float64) {
	v, d, l := p.Value, p.Grad, &s.layout

	// Pass 1: d = g·scale in the gradient buffer, and the per-slice squared norms of p and d.
	// The factor of each slice then replaces its norm of p: c = m / max(‖d‖, m).
	factor := s.norms[:l.slices]
	clipping := !math.IsInf(o.cfg.Clip, 1)
	if !clipping {
		for i := range factor {
			factor[i] = 1
		}
	}
	if p.Scale != 1 {
		for i := range d {
			d[i] *= p.Scale
		}
	}
	if clipping {
		pn, dn := factor, s.norms[l.slices:]
		clear(s.norms)
		for r, base := range l.runs {
			vr, dr := v[r*l.inner:(r+1)*l.inner], d[r*l.inner:(r+1)*l.inner]
			if l.innerStep == 0 {
				// One slice per run: accumulate in registers.
				var sp, sd float64
				for j, x := range vr {
					sp += float64(x) * float64(x)
					sd += float64(dr[j]) * float64(dr[j])
				}
				pn[base] += sp
				dn[base] += sd
				continue
			}
			for j, x := range vr {
				pn[base+j] += float64(x) * float64(x)
				dn[base+j] += float64(dr[j]) * float64(dr[j])
			}
		}
		floor := o.cfg.Eps * math.Sqrt(float64(l.numel))
		for k := range pn {
			m := max(o.cfg.Clip*math.Sqrt(pn[k]), floor)
			factor[k] = m / max(math.Sqrt(dn[k]), m)
		}
	}

	// Pass 2, per element: clip; momentum (a zero buffer makes the first step buf = μ·0 + d = d
	// exactly); decay after momentum, so it never enters the buffer; update; clear the gradient.
	mu := float32(o.cfg.Momentum)
	if mu > 0 && s.momentum == nil {
		s.momentum = make([]float32, l.numel)
	}
	buf := s.momentum
	nesterov := o.cfg.Nesterov
	wd := float32(0)
	if p.Decay {
		wd = float32(o.cfg.WeightDecay)
	}
	rate := float32(lr)
	for r, base := range l.runs {
		lo := r * l.inner
		vr, dr := v[lo:lo+l.inner], d[lo:lo+l.inner]
		for j := range dr {
			di := dr[j] * float32(factor[base+j*l.innerStep])
			if mu > 0 {
				b := mu*buf[lo+j] + di
				buf[lo+j] = b
				if nesterov {
					di += mu * b
				} else {
					di = b
				}
			}
			vr[j] -= rate * (di + wd*vr[j])
			dr[j] = 0
		}
	}
}

// normLayout maps the elements of a row-major tensor to the slices over which clipping norms
// are taken. Axes of size 1 are dropped and neighbouring axes that are both kept or both
// reduced are merged, so the tensor becomes alternating blocks. Elements are visited in runs of
// the innermost block: run r covers elements [r·inner, (r+1)·inner), and its element j belongs
// to slice runs[r] + j·innerStep (innerStep is 1 when the innermost block is kept, 0 when it
// is reduced).
type normLayout struct {
	numel     int
	slices    int   // number of norm slices: product of the kept sizes
	inner     int   // size of the innermost block
	innerStep int   // 1 if the innermost block is kept, else 0
	runs      []int // [numel/inner] slice index of each run's first element
}

// newNormLayout builds the layout of a tensor of the given shape whose norms reduce the axes
// in normDims (all axes when normDims is empty).
func newNormLayout(shape, normDims []int) (normLayout, error) {
	numel := 1
	for _, n := range shape {
		if n < 1 {
			return normLayout{}, fmt.Errorf("shape %v has a size below 1: %w", shape, ErrParam)
		}
		numel *= n
	}
	reduced := make([]bool, len(shape))
	for _, a := range normDims {
		if a < 0 || a >= len(shape) {
			return normLayout{}, fmt.Errorf("norm axis %d out of range for shape %v: %w", a, shape, ErrParam)
		}
		if reduced[a] {
			return normLayout{}, fmt.Errorf("norm axis %d listed twice in %v: %w", a, normDims, ErrParam)
		}
		reduced[a] = true
	}
	if len(normDims) == 0 {
		for a := range reduced {
			reduced[a] = true
		}
	}

	// Merge into blocks, outermost first.
	type block struct {
		size int
		kept bool
	}
	var blocks []block
	for a, n := range shape {
		if n == 1 {
			continue
		}
		kept := !reduced[a]
		if len(blocks) > 0 && blocks[len(blocks)-1].kept == kept {
			blocks[len(blocks)-1].size *= n
			continue
		}
		blocks = append(blocks, block{n, kept})
	}
	if len(blocks) == 0 {
		blocks = []block{{1, false}}
	}

	in := blocks[len(blocks)-1]
	l := normLayout{numel: numel, slices: 1, inner: in.size}
	if in.kept {
		l.innerStep = 1
	}
	// Slice strides: each kept block's index is weighted by the sizes of the kept blocks
	// inside it.
	strides := make([]int, len(blocks))
	for b := len(blocks) - 1; b >= 0; b-- {
		if blocks[b].kept {
			strides[b] = l.slices
			l.slices *= blocks[b].size
		}
	}
	// Odometer over the outer blocks, last one fastest.
	outer := blocks[:len(blocks)-1]
	idx := make([]int, len(outer))
	l.runs = make([]int, numel/in.size)
	for r := range l.runs {
		base := 0
		for b, i := range idx {
			base += i * strides[b]
		}
		l.runs[r] = base
		for b := len(idx) - 1; b >= 0; b-- {
			idx[b]++
			if idx[b] < outer[b].size {
				break
			}
			idx[b] = 0
		}
	}
	return l, nil
}
