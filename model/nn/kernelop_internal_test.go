package nn

import (
	"testing"

	"gorgonia.org/tensor"
)

// TestContiguousMaterializesViews checks what a kernel op reads from each kind of input value:
// a strided or transposed view is copied into row-major order, a contiguous one (a whole
// tensor, a slice along the first axis) is read in place.
func TestContiguousMaterializesViews(t *testing.T) {
	newDense := func() *tensor.Dense {
		return tensor.New(tensor.WithShape(3, 4), tensor.WithBacking([]float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}))
	}
	d := newDense()
	cols, err := d.Slice(nil, tensor.S(1, 3))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := d.Slice(tensor.S(1, 3))
	if err != nil {
		t.Fatal(err)
	}
	tr := newDense()
	if err := tr.T(); err != nil { // transposed access pattern, data not moved
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		v       *tensor.Dense
		want    []float64
		inPlace bool
	}{
		{"whole", d, []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, true},
		{"rows 1-2", rows.(*tensor.Dense), []float64{4, 5, 6, 7, 8, 9, 10, 11}, true},
		{"columns 1-2", cols.(*tensor.Dense), []float64{1, 2, 5, 6, 9, 10}, false},
		{"transposed", tr, []float64{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := contiguous[float64](tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
			backing := d.Data().([]float64)
			shared := &got[0] == &backing[int(tc.want[0])]
			if tc.name == "transposed" {
				shared = &got[0] == &tr.Data().([]float64)[0]
			}
			if shared != tc.inPlace {
				t.Errorf("read in place %v, want %v", shared, tc.inPlace)
			}
		})
	}
}
