package checkpoint_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fmcore/fmcore/internal/checkpoint"
)

// Example saves a foundation core with one session, adds a second mouse on the frozen core,
// and loads a session back, checking it against the shapes the model expects.
func Example() {
	dir, err := os.MkdirTemp("", "ckpt")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	header := checkpoint.Header{
		FmcoreVersion: "v0.1.0",
		Config:        "model:\n  streams: 1\n",
		Seed:          42,
		Created:       time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	core := checkpoint.File{Header: header, Tensors: []checkpoint.Tensor{
		{Name: "core.feedforward.inputs.0.bias.0", Shape: []int{4}, Data: []float32{1, 2, 3, 4}},
	}}
	readout := func(units int) checkpoint.File {
		return checkpoint.File{Header: header, Tensors: []checkpoint.Tensor{
			{Name: "readout.mu", Shape: []int{units, 2}, Data: make([]float32, units*2)},
		}}
	}
	if err := checkpoint.Save(dir, core, map[string]checkpoint.File{"7-1": readout(3)}); err != nil {
		fmt.Println(err)
		return
	}
	if err := checkpoint.SaveSession(dir, "9-3", readout(5)); err != nil {
		fmt.Println(err)
		return
	}
	keys, err := checkpoint.Sessions(dir)
	fmt.Println(keys, err)

	s, err := checkpoint.LoadSession(dir, "9-3")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Header.Kind, s.Header.Session, s.Tensors[0].Shape)
	fmt.Println(checkpoint.Match(s.Tensors, map[string][]int{"readout.mu": {5, 2}}))
	fmt.Println(checkpoint.Match(s.Tensors, map[string][]int{"readout.mu": {6, 2}}))

	_, err = checkpoint.LoadSession(dir, "4-7")
	fmt.Println(err != nil, filepath.Base(dir) != "")
	// Output:
	// [7-1 9-3] <nil>
	// session 9-3 [5 2]
	// <nil>
	// match checkpoint to config: readout.mu: shape [5 2] in the file, [6 2] in the config
	// true true
}
