package kernels

import (
	"errors"
	"math"
	"testing"
)

// refGridSample is the naive float64 grid_sample (bilinear, align_corners = false), written
// from PyTorch's documented formula with its own border clamp.
func refGridSample(g GridSample, img, grid []float64) []float64 {
	out := make([]float64, g.N*g.C*g.P)
	for n := 0; n < g.N; n++ {
		for p := 0; p < g.P; p++ {
			ix := ((grid[(n*g.P+p)*2]+1)*float64(g.W) - 1) / 2
			iy := ((grid[(n*g.P+p)*2+1]+1)*float64(g.H) - 1) / 2
			if g.Pad == GridBorder {
				ix = math.Min(math.Max(ix, 0), float64(g.W-1))
				iy = math.Min(math.Max(iy, 0), float64(g.H-1))
			}
			x0, y0 := math.Floor(ix), math.Floor(iy)
			for c := 0; c < g.C; c++ {
				var s float64
				for _, tap := range [4][2]float64{{y0, x0}, {y0, x0 + 1}, {y0 + 1, x0}, {y0 + 1, x0 + 1}} {
					y, x := tap[0], tap[1]
					if y < 0 || y >= float64(g.H) || x < 0 || x >= float64(g.W) {
						continue
					}
					w := (1 - math.Abs(ix-x)) * (1 - math.Abs(iy-y))
					s += w * img[((n*g.C+c)*g.H+int(y))*g.W+int(x)]
				}
				out[(n*g.C+c)*g.P+p] = s
			}
		}
	}
	return out
}

// gridCases cover both padding modes with points inside, at the border and outside the image
// (grid values up to ±1.6), a single-channel image as in the perspective module and a
// multi-channel one as in the readout.
var gridCases = []struct {
	name string
	g    GridSample
}{
	{"zeros-perspective-like", GridSample{N: 2, C: 1, H: 5, W: 7, P: 40, Pad: GridZeros}},
	{"zeros-readout-like", GridSample{N: 3, C: 4, H: 4, W: 6, P: 25, Pad: GridZeros}},
	{"border-readout-like", GridSample{N: 3, C: 4, H: 4, W: 6, P: 25, Pad: GridBorder}},
	{"border-one-pixel-wide", GridSample{N: 1, C: 2, H: 3, W: 1, P: 12, Pad: GridBorder}},
	{"zeros-many-chunks", GridSample{N: 1, C: 2, H: 6, W: 5, P: 2*gridChunk + 7, Pad: GridZeros}},
}

// gridPoints returns count random points in [−1.6, 1.6]², so about 40% of them fall outside
// the image, the first few replaced by fixed points on the image corners (±1, half a pixel
// outside the outer pixel centres) and far outside. No fixed point lies on an integer pixel
// coordinate, where bilinear sampling has a kink and finite differences average two slopes.
func gridPoints[T Float](seed uint64, count int) []T {
	rng := newRand(seed)
	grid := make([]T, 2*count)
	for i := range grid {
		grid[i] = T(3.2*rng.Float64() - 1.6)
	}
	fixed := []T{-1, -1, 1, 1, -1, 1, 0.013, -0.021, 5, -7, 1.25, 0.1}
	copy(grid, fixed[:min(len(fixed), len(grid))])
	return grid
}

func TestGridSampleForwardMatchesReference(t *testing.T) {
	t.Run("float32", testGridSampleForward[float32])
	t.Run("float64", testGridSampleForward[float64])
}

func testGridSampleForward[T Float](t *testing.T) {
	for ci, tc := range gridCases {
		g := tc.g
		img := randSlice[T](newRand(uint64(ci)), g.N*g.C*g.H*g.W)
		grid := gridPoints[T](uint64(ci), g.N*g.P)
		want := refGridSample(g, to64(img), to64(grid))
		for _, nw := range workspaces() {
			t.Run(tc.name+"/"+nw.name, func(t *testing.T) {
				out := make([]T, len(want))
				if err := GridSampleForward(g, nw.ws, img, grid, out); err != nil {
					t.Fatal(err)
				}
				// Four products per output and float32 weights: rounding ≈ 1e-7.
				checkClose(t, "out", out, want, tol[T]())
			})
		}
	}
}

func TestGridSampleBackwardMatchesFiniteDifferences(t *testing.T) {
	t.Run("float32", testGridSampleBackward[float32])
	t.Run("float64", testGridSampleBackward[float64])
}

func testGridSampleBackward[T Float](t *testing.T) {
	for ci, tc := range gridCases {
		g := tc.g
		if g.P > 100 {
			continue // the many-chunks case is covered by the forward test and by w3 below
		}
		img := randSlice[T](newRand(10+uint64(ci)), g.N*g.C*g.H*g.W)
		grid := gridPoints[T](10+uint64(ci), g.N*g.P)
		dout := randSlice[T](newRand(20+uint64(ci)), g.N*g.C*g.P)
		img64, grid64, dout64 := to64(img), to64(grid), to64(dout)
		loss := func() float64 { return dot64(refGridSample(g, img64, grid64), dout64) }
		wantDImg, wantDGrid := numGrad(img64, loss), numGrad(grid64, loss)
		for _, nw := range workspaces() {
			t.Run(tc.name+"/"+nw.name, func(t *testing.T) {
				dimg, dgrid := filled[T](len(img), 1e9), make([]T, len(grid)) // overwritten
				if err := GridSampleBackward(g, nw.ws, img, grid, dout, dimg, dgrid); err != nil {
					t.Fatal(err)
				}
				checkClose(t, "dimg", dimg, wantDImg, tol[T]())
				checkClose(t, "dgrid", dgrid, wantDGrid, tol[T]())
				// Each gradient alone gives the same values.
				only := make([]T, len(grid))
				if err := GridSampleBackward(g, nw.ws, img, grid, dout, nil, only); err != nil {
					t.Fatal(err)
				}
				checkClose(t, "dgrid alone", only, to64(dgrid), 0)
			})
		}
	}
}

// TestGridSampleBorderGradientIsZeroWhenClamped checks the PyTorch convention that a
// coordinate clamped by border padding, or lying exactly on the border, passes no gradient.
func TestGridSampleBorderGradientIsZeroWhenClamped(t *testing.T) {
	g := GridSample{N: 1, C: 1, H: 4, W: 4, P: 4, Pad: GridBorder}
	img := randSlice[float32](newRand(3), 16)
	// x outside left, x outside right, x exactly on the centre of pixel 0 (ix = 0), y outside.
	grid := []float32{-1.5, 0.1, 1.5, 0.2, -0.75, 0.3, 0.1, 2}
	dgrid := make([]float32, 8)
	if err := GridSampleBackward(g, NewWorkspace(1), img, grid, []float32{1, 1, 1, 1}, nil, dgrid); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false, true, false, true, false, false, true} {
		if want && dgrid[i] != 0 {
			t.Errorf("dgrid[%d] = %v, want 0 (clamped)", i, dgrid[i])
		}
		if !want && dgrid[i] == 0 {
			t.Errorf("dgrid[%d] = 0, want nonzero", i)
		}
	}
}

// TestGridSampleNonFinitePoints checks that NaN points sample nothing and pass no gradient in
// both modes, that infinite points do the same with zero padding, and that with border padding
// an infinite coordinate is clamped to the border like any other (PyTorch's clip).
func TestGridSampleNonFinitePoints(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, pad := range []GridPad{GridZeros, GridBorder} {
		t.Run(pad.String(), func(t *testing.T) {
			g := GridSample{N: 1, C: 2, H: 3, W: 3, P: 3, Pad: pad}
			img := randSlice[float32](newRand(4), 18)
			grid := []float32{nan, 0.1, -0.2, inf, 1e30, -1e30}
			out, dgrid, dimg := make([]float32, 6), make([]float32, 6), make([]float32, 18)
			ws := NewWorkspace(1)
			if err := GridSampleForward(g, ws, img, grid, out); err != nil {
				t.Fatal(err)
			}
			if err := GridSampleBackward(g, ws, img, grid, []float32{1, 1, 1, 1, 1, 1}, dimg, dgrid); err != nil {
				t.Fatal(err)
			}
			for _, v := range append(append(dimg, out...), dgrid...) {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("non-finite value leaked: out %v dgrid %v dimg %v", out, dgrid, dimg)
				}
			}
			if out[0] != 0 || out[3] != 0 || dgrid[0] != 0 || dgrid[1] != 0 {
				t.Errorf("NaN point: out %v %v, dgrid %v %v; want zeros", out[0], out[3], dgrid[0], dgrid[1])
			}
			if pad == GridZeros {
				for i := 1; i < 3; i++ {
					if out[i] != 0 || out[3+i] != 0 || dgrid[2*i] != 0 || dgrid[2*i+1] != 0 {
						t.Errorf("point %d: out %v %v, dgrid %v %v; want zeros", i, out[i], out[3+i], dgrid[2*i], dgrid[2*i+1])
					}
				}
				return
			}
			// Border: (−0.2, +Inf) samples the bottom row at x −0.2; (1e30, −1e30) the top-right
			// pixel. Compare with the reference at the clamped positions.
			want := refGridSample(g, to64(img), []float64{0.5, 0.5, -0.2, 1, 1, -1})
			for i := 1; i < 3; i++ {
				for c := 0; c < 2; c++ {
					if d := math.Abs(float64(out[c*3+i]) - want[c*3+i]); d > 1e-6 {
						t.Errorf("point %d channel %d: got %v, want %v", i, c, out[c*3+i], want[c*3+i])
					}
				}
			}
			if dgrid[3] != 0 || dgrid[4] != 0 || dgrid[5] != 0 {
				t.Errorf("clamped coordinates passed gradient: %v", dgrid)
			}
		})
	}
}

func TestGridSampleRejectsBadInput(t *testing.T) {
	g := GridSample{N: 1, C: 2, H: 3, W: 3, P: 4}
	ws := NewWorkspace(1)
	mk := func(n int) []float32 { return make([]float32, n) }
	cases := map[string]func() error{
		"short grid":   func() error { return GridSampleForward(g, ws, mk(18), mk(7), mk(8)) },
		"short out":    func() error { return GridSampleForward(g, ws, mk(18), mk(8), mk(7)) },
		"nil image":    func() error { return GridSampleForward(g, ws, nil, mk(8), mk(8)) },
		"short dimg":   func() error { return GridSampleBackward(g, ws, mk(18), mk(8), mk(8), mk(17), nil) },
		"dgrid no img": func() error { return GridSampleBackward(g, ws, nil, mk(8), mk(8), nil, mk(8)) },
		"bad mode": func() error {
			h := g
			h.Pad = 9
			return GridSampleForward(h, ws, mk(18), mk(8), mk(8))
		},
	}
	for name, run := range cases {
		t.Run(name, func(t *testing.T) {
			if err := run(); !errors.Is(err, ErrShape) {
				t.Fatalf("got %v, want an error wrapping ErrShape", err)
			}
		})
	}
}
