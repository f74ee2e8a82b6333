package mouse

import "sort"

func quant(x []float32) []float32 {
	var y []float32
	for _, v := range x {
		if v == v {
			y = append(y, v)
		}
	}
	sort.Slice(y, func(i, j int) bool { return y[i] < y[j] })
	n := len(y)
	return []float32{y[0], y[n/10], y[n/2], y[9*n/10], y[n-1]}
}
