package model

import (
	"fmt"
	"strings"

	"github.com/fmcore/fmcore/model/core"
	"github.com/fmcore/fmcore/model/nn"
)

// Stage is one row of the per-frame shape table (MODEL.md 3).
type Stage struct {
	Name       string `json:"name"`
	OneStream  []int  `json:"one_stream"`  // training path: one stream drawn
	AllStreams []int  `json:"all_streams"` // evaluation path: every stream at once
}

// ModuleCount is the parameter count of one module.
type ModuleCount struct {
	Module     string `json:"module"`
	Parameters int    `json:"parameters"`
	Shared     bool   `json:"shared"` // part of the foundation core
}

// Summary describes a network built from a config for a session of U units.
type Summary struct {
	Units   int           `json:"units"`
	Modules []ModuleCount `json:"modules"`
	Core    int           `json:"core"`
	Session int           `json:"session"`
	Total   int           `json:"total"`
	Stages  []Stage       `json:"stages"`
}

// Summarize returns the parameter counts and the per-frame shapes of the network for a
// session of u units (batch N = 1 in the shapes).
func Summarize(c Config, u int) (Summary, error) {
	if err := c.Validate(); err != nil {
		return Summary{}, err
	}
	coreP, sessP := c.CoreParams(), c.SessionParams(u)
	s := Summary{Units: u, Core: nn.Count(coreP), Session: nn.Count(sessP)}
	s.Total = s.Core + s.Session
	for _, m := range []struct {
		prefix string
		params []nn.ParamSpec
		shared bool
	}{
		{"core.feedforward", coreP, true}, {"core.recurrent", coreP, true},
		{"perspective", sessP, false}, {"modulation.mlp", sessP, false}, {"modulation.lstm", sessP, false}, {"readout", sessP, false},
	} {
		n := 0
		for _, p := range m.params {
			if strings.HasPrefix(p.Name, m.prefix+".") {
				n += p.Size()
			}
		}
		s.Modules = append(s.Modules, ModuleCount{Module: m.prefix, Parameters: n, Shared: m.shared})
	}
	s.Stages = c.stages(u)
	return s, nil
}

// stages lists the shapes of MODEL.md 3 for this config.
func (c Config) stages(u int) []Stage {
	S := c.Streams
	var st []Stage
	add := func(name string, ch, h, w int, perStream bool) {
		one := []int{1, ch, h, w}
		all := []int{1, ch, h, w}
		if perStream {
			all[1] = ch * S
		}
		if h == 0 {
			one, all = one[:2], all[:2]
		}
		st = append(st, Stage{Name: name, OneStream: one, AllStreams: all})
	}
	p, f, r := c.Perspective, c.Core.Feedforward, c.Core.Recurrent
	add("stimulus", 1, c.StimulusHeight, c.StimulusWidth, false)
	add("perspective (retinal image)", 1, p.RetinaHeight, p.RetinaWidth, true)
	add("modulation", c.Modulation.Hidden, 0, 0, true)
	pad := (f.InputKernel - f.InputStride) / 2
	h := (p.RetinaHeight+2*pad-f.InputKernel)/f.InputStride + 1
	w := (p.RetinaWidth+2*pad-f.InputKernel)/f.InputStride + 1
	for b := range f.Channels {
		if b == 0 {
			add(fmt.Sprintf("ff input projection 0 (%d×%d, stride %d)", f.InputKernel, f.InputKernel, f.InputStride), f.Channels[0], h, w, true)
		} else {
			add(fmt.Sprintf("ff input projection %d (1×1)", b), f.Channels[b], h, w, true)
		}
		h, w = h/f.Pools[b], w/f.Pools[b]
		name := fmt.Sprintf("ff block %d (dense)", b)
		if f.Pools[b] > 1 {
			name += fmt.Sprintf(" → avg-pool %d", f.Pools[b])
		}
		add(name, (f.Layers[b]+1)*f.Channels[b], h, w, true)
	}
	add("ff output projection (1×1)", f.OutChannels, h, w, true)
	add("recurrent input projection (tanh)", r.In, h, w, true)
	if r.Type == core.CvtLSTM {
		add(fmt.Sprintf("recurrent grouped %d×%d conv z", r.Spatial, r.Spatial), r.Common, h, w, true)
	}
	add("recurrent hidden state h", r.Hidden, h, w, true)
	add("recurrent output (1×1 from h)", r.OutChannels, h, w, true)
	st = append(st, Stage{Name: "readout (log-rates)", OneStream: []int{1, u}, AllStreams: []int{1, S, u}})
	st = append(st, Stage{Name: "unit (exp of the stream mean)", OneStream: []int{1, u}, AllStreams: []int{1, u}})
	return st
}
