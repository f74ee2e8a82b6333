package checkpoint

import (
	"testing"
)

func TestMatch(t *testing.T) {
	w := func(name string, shape ...int) Tensor { return Tensor{Name: name, Shape: shape} }
	want := map[string][]int{
		"core.feedforward.inputs.1.weight.0": {64, 48, 1, 1, 1},
		"core.feedforward.inputs.1.gain.0":   {64},
		"readout.mu":                         {10, 2},
	}
	tests := []struct {
		name    string
		tensors []Tensor
		detail  string // the full message; empty for a match
	}{
		{"exact", []Tensor{w("readout.mu", 10, 2), w("core.feedforward.inputs.1.gain.0", 64), w("core.feedforward.inputs.1.weight.0", 64, 48, 1, 1, 1)}, ""},
		{"shape", []Tensor{w("readout.mu", 10, 2), w("core.feedforward.inputs.1.gain.0", 64), w("core.feedforward.inputs.1.weight.0", 64, 96, 1, 1, 1)},
			"match checkpoint to config: core.feedforward.inputs.1.weight.0: shape [64 96 1 1 1] in the file, [64 48 1 1 1] in the config"},
		{"rank", []Tensor{w("readout.mu", 10, 2, 1), w("core.feedforward.inputs.1.gain.0", 64), w("core.feedforward.inputs.1.weight.0", 64, 48, 1, 1, 1)},
			"match checkpoint to config: readout.mu: shape [10 2 1] in the file, [10 2] in the config"},
		{"missing and extra", []Tensor{w("readout.mu", 10, 2), w("readout.sigma", 10, 2, 2), w("core.feedforward.inputs.1.weight.0", 64, 48, 1, 1, 1)},
			"match checkpoint to config: readout.sigma: in the file, not in the config; core.feedforward.inputs.1.gain.0: shape [64] in the config, not in the file"},
		{"duplicate", []Tensor{w("readout.mu", 10, 2), w("readout.mu", 10, 2), w("core.feedforward.inputs.1.gain.0", 64), w("core.feedforward.inputs.1.weight.0", 64, 48, 1, 1, 1)},
			"match checkpoint to config: readout.mu: twice in the file"},
		{"first three, then a count", []Tensor{w("readout.mu", 11, 2), w("a", 1), w("b", 1), w("c", 1)},
			"match checkpoint to config: readout.mu: shape [11 2] in the file, [10 2] in the config; a: in the file, not in the config; b: in the file, not in the config; 3 more"},
		{"empty file", nil,
			"match checkpoint to config: core.feedforward.inputs.1.gain.0: shape [64] in the config, not in the file; core.feedforward.inputs.1.weight.0: shape [64 48 1 1 1] in the config, not in the file; readout.mu: shape [10 2] in the config, not in the file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Match(tc.tensors, want)
			if tc.detail == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, ErrMismatch)
			if err.Error() != tc.detail {
				t.Fatalf("error\n%s\nwant\n%s", err, tc.detail)
			}
		})
	}
}
