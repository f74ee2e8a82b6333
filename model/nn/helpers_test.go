package nn_test

import "gorgonia.org/tensor"

// tensorOf returns a dense float64 tensor of shape over v.
func tensorOf(shape []int, v []float64) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
}
