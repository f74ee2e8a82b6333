package model

import (
	"strings"
	"testing"

	"github.com/fmcore/fmcore/model/nn"
)

// countPrefix sums the sizes of the parameters whose name starts with prefix.
func countPrefix(ps []nn.ParamSpec, prefix string) int {
	n := 0
	for _, p := range ps {
		if strings.HasPrefix(p.Name, prefix) {
			n += p.Size()
		}
	}
	return n
}

// TestReleasedParameterCounts checks MODEL.md 5 (12.1 item 1): counts of the reference
// instantiated with the released configuration.
func TestReleasedParameterCounts(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	core := c.CoreParams()
	sess := c.SessionParams(9941) // scan 8-5 of the MICrONS twin
	for _, tc := range []struct {
		name string
		got  int
		want int
	}{
		{"core", nn.Count(core), 4528640},
		{"core.feedforward", countPrefix(core, "core.feedforward."), 1908224},
		{"core.recurrent", countPrefix(core, "core.recurrent."), 2620416},
		{"perspective", countPrefix(sess, "perspective."), 693},
		{"modulation", countPrefix(sess, "modulation."), 8896},
		{"modulation.mlp", countPrefix(sess, "modulation.mlp."), 192},
		{"modulation.lstm", countPrefix(sess, "modulation.lstm."), 8704},
		{"readout", countPrefix(sess, "readout."), 522 * 9941},
		{"whole model, scan 8-5", nn.Count(core) + nn.Count(sess), 9727431},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %d parameters, MODEL.md says %d", tc.name, tc.got, tc.want)
		}
	}
	// Per-layer rows of MODEL.md 5.2 and 5.3 (stream 0).
	rows := map[string]int{
		"core.feedforward.inputs.0.":        1184,
		"core.feedforward.blocks.0.convs.0": 27712,
		"core.feedforward.blocks.0.skips.1": 1056,
		"core.feedforward.inputs.1.":        6272,
		"core.feedforward.blocks.1.convs.1": 55424,
		"core.feedforward.blocks.1.skips.1": 2112,
		"core.feedforward.inputs.2.":        24832,
		"core.feedforward.blocks.2.convs.0": 110848,
		"core.feedforward.blocks.2.skips.1": 4224,
		"core.feedforward.out.":             49408,
		"core.recurrent.z.":                 294912,
		"core.recurrent.q.":                 32768,
		"core.recurrent.gates.i.":           33280,
		"core.recurrent.out.":               33024,
		"core.recurrent.scales.":            512,
		"core.recurrent.proj_h.":            57344 + 256,
		"core.recurrent.proj_f.":            32768 + 256 + 256,
		"core.recurrent.proj_m.":            4096 + 256,
	}
	s0 := c.Core.Params(0, c.Modulation.Hidden)
	for prefix, want := range rows {
		n := 0
		for _, p := range s0 {
			if strings.HasPrefix(p.Name, prefix) {
				n += p.Size()
			}
		}
		if n != want {
			t.Errorf("%s: %d parameters per stream, MODEL.md 5.2/5.3 says %d", prefix, n, want)
		}
	}
}

func TestParamNamesUnique(t *testing.T) {
	c := Default()
	seen := map[string]bool{}
	for _, p := range append(c.CoreParams(), c.SessionParams(3)...) {
		if seen[p.Name] {
			t.Errorf("duplicate parameter name %s", p.Name)
		}
		seen[p.Name] = true
	}
}

func TestValidateNamesTheKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"streams", func(c *Config) { c.Streams = 0 }, "model.streams 0"},
		{"groups", func(c *Config) { c.Core.Feedforward.Groups[1] = 3 }, "core.feedforward block 1: 64 channels in 3 groups"},
		{"list length", func(c *Config) { c.Core.Feedforward.Pools = []int{2} }, "core.feedforward.pools has 1 entries"},
		{"recurrent type", func(c *Config) { c.Core.Recurrent.Type = "gru" }, `core.recurrent.type "gru"`},
		{"periphery", func(c *Config) { c.Perspective.Periphery = "grey" }, `perspective.periphery "grey"`},
		{"projection", func(c *Config) { c.Perspective.Projection = "fisheye" }, `perspective.retina_projection "fisheye"`},
		{"jitter", func(c *Config) { c.Perspective.JitterStd = -0.1 }, "perspective.jitter_std -0.1"},
		{"nonlinearity", func(c *Config) { c.Modulation.Nonlinearity = "relu6" }, `modulation.nonlinearity "relu6"`},
		{"too small", func(c *Config) { c.Perspective.RetinaHeight, c.Perspective.RetinaWidth = 4, 4 }, "too small"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Core.Feedforward.Groups = append([]int{}, c.Core.Feedforward.Groups...)
			tc.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
