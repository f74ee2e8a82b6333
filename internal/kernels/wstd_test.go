package kernels

import (
	"errors"

	"math"
	"testing"
)

// refWeightStd is MODEL.md 1.4 written directly: population variance, ε = 1e-5, gain g.
func refWeightStd(s WeightStd, w, gain []float64) []float64 {
	out := make([]float64, len(w))
	for o := 0; o < s.O; o++ {
		row := w[o*s.F : (o+1)*s.F]
		var mean, v float64
		for _, x := range row {
			mean += x
		}
		mean /= float64(s.F)
		for _, x := range row {
			v += (x - mean) * (x - mean)
		}
		v /= float64(s.F)
		g := 1.0
		if gain != nil {
			g = gain[o]
		}
		for i, x := range row {
			out[o*s.F+i] = g * (x - mean) / math.Sqrt(float64(s.F)*v+1e-5)
		}
	}
	return out
}

var wstdCases = []struct {
	name string
	s    WeightStd
	gain bool
}{
	{"3x3x3-conv-rows-with-gain", WeightStd{O: 4, F: 27}, true},
	{"1x1-no-gain", WeightStd{O: 5, F: 8}, false},
	{"fan-in-1", WeightStd{O: 3, F: 1}, true}, // var = 0: ŵ = 0 and the ε keeps it finite
}

func TestWeightStdMatchesReference(t *testing.T) {
	t.Run("float32", testWeightStdForward[float32])
	t.Run("float64", testWeightStdForward[float64])
}

func testWeightStdForward[T Float](t *testing.T) {
	for ci, tc := range wstdCases {
		t.Run(tc.name, func(t *testing.T) {
			rng := newRand(uint64(ci))
			w := randSlice[T](rng, tc.s.O*tc.s.F)
			var gain []T
			if tc.gain {
				gain = randSlice[T](rng, tc.s.O)
			}
			out := make([]T, len(w))
			if err := WeightStdForward(tc.s, w, gain, out); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "ŵ", out, refWeightStd(tc.s, to64(w), to64(gain)), tol[T]())
			// MODEL.md 12.1 item 3: each row has mean 0 and ‖ŵ‖² = g²·F·var/(F·var + ε).
			for o := 0; o < tc.s.O; o++ {
				row := to64(out[o*tc.s.F : (o+1)*tc.s.F])
				var sum, sq float64
				for _, x := range row {
					sum += x
					sq += x * x
				}
				w64 := to64(w[o*tc.s.F : (o+1)*tc.s.F])
				mean := sum64(w[o*tc.s.F:(o+1)*tc.s.F]) / float64(tc.s.F)
				var fv float64
				for _, x := range w64 {
					fv += (x - mean) * (x - mean)
				}
				g := 1.0
				if gain != nil {
					g = float64(gain[o])
				}
				// float32 outputs of order 1: sums of F of them carry ~F·6e-8 rounding.
				if math.Abs(sum) > 1e-5 {
					t.Errorf("row %d: mean·F = %v, want 0", o, sum)
				}
				if want := g * g * fv / (fv + 1e-5); math.Abs(sq-want) > 1e-5*(1+want) {
					t.Errorf("row %d: ‖ŵ‖² = %v, want %v", o, sq, want)
				}
			}
		})
	}
}

func TestWeightStdBackwardMatchesFiniteDifferences(t *testing.T) {
	t.Run("float32", testWeightStdBackward[float32])
	t.Run("float64", testWeightStdBackward[float64])
}

func testWeightStdBackward[T Float](t *testing.T) {
	for ci, tc := range wstdCases {
		t.Run(tc.name, func(t *testing.T) {
			rng := newRand(10 + uint64(ci))
			w, dout := randSlice[T](rng, tc.s.O*tc.s.F), randSlice[T](rng, tc.s.O*tc.s.F)
			var gain, dgain []T
			if tc.gain {
				gain, dgain = randSlice[T](rng, tc.s.O), make([]T, tc.s.O)
			}
			w64, g64, d64 := to64(w), to64(gain), to64(dout)
			loss := func() float64 { return dot64(refWeightStd(tc.s, w64, g64), d64) }
			dw := make([]T, len(w))
			if err := WeightStdBackward(tc.s, w, gain, dout, dw, dgain); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "dw", dw, numGrad(w64, loss), tol[T]())
			if tc.gain {
				checkClose(t, "dgain", dgain, numGrad(g64, loss), tol[T]())
			}
		})
	}
}

func TestWeightStdRejectsBadInput(t *testing.T) {
	s := WeightStd{O: 2, F: 3}
	mk := func(n int) []float32 { return make([]float32, n) }
	for name, err := range map[string]error{
		"short w":            WeightStdForward(s, mk(5), nil, mk(6)),
		"short gain":         WeightStdForward(s, mk(6), mk(1), mk(6)),
		"gain without dgain": WeightStdBackward(s, mk(6), mk(2), mk(6), mk(6), nil),
		"zero fan-in":        WeightStdForward(WeightStd{O: 2}, mk(0), nil, mk(0)),
	} {
		if !errors.Is(err, ErrShape) {
			t.Errorf("%s: got %v, want an error wrapping ErrShape", name, err)
		}
	}
}
