package kernels

import (
	"errors"
	"fmt"
	"testing"
)

// refConv3d is the naive float64 convolution: the definition of Conv3d written as plain loops,
// with its own clamping for replicate padding and its own causal frame arithmetic.
func refConv3d(p Conv3d, x, w, bias []float64) []float64 {
	to, ho, wo := p.OutShape()
	sh, sw := max(1, p.StrideH), max(1, p.StrideW)
	cg, og := p.C/p.G, p.O/p.G
	first := -(p.KT - 1) // input frame read by tap 0 of output frame 0
	if p.Time == TimeValid {
		first = 0
	}
	y := make([]float64, p.N*p.O*to*ho*wo)
	for n := 0; n < p.N; n++ {
		for o := 0; o < p.O; o++ {
			g := o / og
			for t := 0; t < to; t++ {
				for oh := 0; oh < ho; oh++ {
					for ow := 0; ow < wo; ow++ {
						var s float64
						if bias != nil {
							s = bias[o]
						}
						for c := 0; c < cg; c++ {
							for k := 0; k < p.KT; k++ {
								f := t + first + k
								if f < 0 || f >= p.T {
									continue // causal zero frames
								}
								for kh := 0; kh < p.KH; kh++ {
									for kw := 0; kw < p.KW; kw++ {
										ih, iw := oh*sh-p.PadH+kh, ow*sw-p.PadW+kw
										if ih < 0 || ih >= p.H || iw < 0 || iw >= p.W {
											if p.Pad == PadZeros {
												continue
											}
											ih, iw = min(max(ih, 0), p.H-1), min(max(iw, 0), p.W-1)
										}
										xi := (((n*p.C+g*cg+c)*p.T+f)*p.H+ih)*p.W + iw
										wi := (((o*cg+c)*p.KT+k)*p.KH+kh)*p.KW + kw
										s += w[wi] * x[xi]
									}
								}
							}
						}
						y[(((n*p.O+o)*to+t)*ho+oh)*wo+ow] = s
					}
				}
			}
		}
	}
	return y
}

// convCases are the variants every Conv3d test runs: groups 1/2/4, stride 1/2, zero and
// replicate padding, KT 1/3, causal and valid time, non-square sizes, N > 1, the first input
// projection's 6×6 stride-2 replicate-pad-2 shape (MODEL.md 4.3), and every lowering route
// (fwd and data name the routes the plan must pick, so a case cannot silently stop covering
// one).
var convCases = []struct {
	name      string
	p         Conv3d
	fwd, data route
}{
	{"2d-3x3-pad1", Conv3d{N: 2, C: 3, O: 4, G: 1, T: 1, H: 5, W: 7, KT: 1, KH: 3, KW: 3, PadH: 1, PadW: 1}, routeWide, routeTransposed},
	{"2d-3x3-pad1-multiblock", Conv3d{N: 1, C: 2, O: 3, G: 1, T: 1, H: 9, W: 13, KT: 1, KH: 3, KW: 3, PadH: 1, PadW: 1}, routeWide, routeTransposed},
	{"2d-replicate", Conv3d{N: 2, C: 2, O: 3, G: 1, T: 1, H: 6, W: 5, KT: 1, KH: 3, KW: 3, PadH: 1, PadW: 1, Pad: PadReplicate}, routeWide, routeScatter},
	{"2d-replicate-stride2", Conv3d{N: 2, C: 2, O: 3, G: 1, T: 1, H: 7, W: 6, KT: 1, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Pad: PadReplicate}, routeStrided, routeScatter},
	{"input-projection-6x6-s2-rep2", Conv3d{N: 2, C: 1, O: 3, G: 1, T: 2, H: 8, W: 12, KT: 1, KH: 6, KW: 6, StrideH: 2, StrideW: 2, PadH: 2, PadW: 2, Pad: PadReplicate}, routeStrided, routeScatter},
	{"3d-causal-groups2", Conv3d{N: 2, C: 4, O: 4, G: 2, T: 4, H: 4, W: 5, KT: 3, KH: 3, KW: 3, PadH: 1, PadW: 1}, routeWide, routeTransposed},
	{"3d-causal-groups4-replicate", Conv3d{N: 1, C: 4, O: 8, G: 4, T: 5, H: 3, W: 4, KT: 3, KH: 3, KW: 3, PadH: 1, PadW: 1, Pad: PadReplicate}, routeWide, routeScatter},
	{"3d-causal-multiblock", Conv3d{N: 1, C: 2, O: 2, G: 1, T: 3, H: 8, W: 10, KT: 3, KH: 3, KW: 3, PadH: 1, PadW: 1}, routeWide, routeTransposed},
	{"3d-valid", Conv3d{N: 2, C: 2, O: 3, G: 1, T: 5, H: 4, W: 3, KT: 3, KH: 3, KW: 3, PadH: 1, PadW: 1, Time: TimeValid}, routeWide, routeTransposed},
	{"3d-valid-streaming-step", Conv3d{N: 2, C: 4, O: 2, G: 2, T: 3, H: 3, W: 5, KT: 3, KH: 3, KW: 3, PadH: 1, PadW: 1, Time: TimeValid}, routeWide, routeTransposed},
	{"3d-unpadded-valid-spatial", Conv3d{N: 2, C: 2, O: 2, G: 1, T: 4, H: 5, W: 6, KT: 2, KH: 3, KW: 2}, routeWide, routeTransposed},
	{"3d-stride2-asymmetric", Conv3d{N: 1, C: 2, O: 2, G: 1, T: 3, H: 6, W: 9, KT: 2, KH: 2, KW: 3, StrideH: 2, StrideW: 3, PadH: 0, PadW: 2}, routeStrided, routeScatter},
	{"3d-stride2-causal-scatter", Conv3d{N: 2, C: 2, O: 2, G: 2, T: 3, H: 5, W: 5, KT: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, routeStrided, routeScatter},
	{"temporal-only-1x1-causal", Conv3d{N: 2, C: 4, O: 4, G: 2, T: 6, H: 2, W: 3, KT: 3, KH: 1, KW: 1}, routeWide, routeTransposed},
	{"direct-1x1-groups4", Conv3d{N: 3, C: 8, O: 4, G: 4, T: 2, H: 3, W: 3, KT: 1, KH: 1, KW: 1}, routeDirect, routeDirect},
	{"linear", Conv3d{N: 4, C: 6, O: 5, G: 1, T: 1, H: 1, W: 1, KT: 1, KH: 1, KW: 1}, routeDirect, routeDirect},
	{"1x1-stride2", Conv3d{N: 1, C: 2, O: 2, G: 1, T: 1, H: 5, W: 5, KT: 1, KH: 1, KW: 1, StrideH: 2, StrideW: 2}, routeStrided, routeScatter},
	{"pad-larger-than-kernel-zeros", Conv3d{N: 1, C: 1, O: 2, G: 1, T: 1, H: 2, W: 3, KT: 1, KH: 3, KW: 2, PadH: 3, PadW: 2}, routeWide, routeScatter},
	{"pad-larger-than-kernel-replicate", Conv3d{N: 1, C: 1, O: 2, G: 1, T: 1, H: 2, W: 3, KT: 1, KH: 3, KW: 2, PadH: 3, PadW: 3, Pad: PadReplicate}, routeWide, routeScatter},
}

func TestConv3dRoutes(t *testing.T) {
	for _, tc := range convCases {
		pl, err := planConv[float32](tc.p, "test", NewWorkspace(1))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if pl.fwdRoute != tc.fwd || pl.dataRoute != tc.data {
			t.Errorf("%s: routes forward %d, data %d; want %d, %d", tc.name, pl.fwdRoute, pl.dataRoute, tc.fwd, tc.data)
		}
	}
}

// budgets are the im2col block sizes the tests run with: the default (one block per frame at
// these sizes) and a tiny one that splits frames into many blocks, so every multi-block path
// (sub-frame blocks, temporal halos, sequential col2im blocks) runs.
var budgets = []int{0, 40}

func TestConv3dForwardMatchesReference(t *testing.T) {
	t.Run("float32", testConv3dForward[float32])
	t.Run("float64", testConv3dForward[float64])
}

func testConv3dForward[T Float](t *testing.T) {
	for ci, tc := range convCases {
		p := tc.p
		xl, wl, _ := p.Lens()
		rng := newRand(uint64(ci))
		x, w, bias := randSlice[T](rng, xl), randSlice[T](rng, wl), randSlice[T](rng, p.O)
		for _, withBias := range []bool{false, true} {
			b := bias
			if !withBias {
				b = nil
			}
			want := refConv3d(p, to64(x), to64(w), to64(b))
			for _, nw := range workspaces() {
				for _, budget := range budgets {
					t.Run(fmt.Sprintf("%s/bias=%v/%s/budget=%d", tc.name, withBias, nw.name, budget), func(t *testing.T) {
						nw.ws.colBudget = budget
						y := filled[T](len(want), 1e9) // Forward must overwrite stale output
						if err := Conv3dForward(p, nw.ws, x, w, b, y); err != nil {
							t.Fatal(err)
						}
						checkClose(t, "y", y, want, tol[T]())
					})
				}
			}
		}
	}
}

func TestConv3dBackwardMatchesFiniteDifferences(t *testing.T) {
	t.Run("float32", testConv3dBackward[float32])
	t.Run("float64", testConv3dBackward[float64])
}

func testConv3dBackward[T Float](t *testing.T) {
	for ci, tc := range convCases {
		p := tc.p
		xl, wl, yl := p.Lens()
		rng := newRand(100 + uint64(ci))
		x, w, bias, dy := randSlice[T](rng, xl), randSlice[T](rng, wl), randSlice[T](rng, p.O), randSlice[T](rng, yl)
		x64, w64, b64, dy64 := to64(x), to64(w), to64(bias), to64(dy)
		// loss = Σ y·dy, so dloss/dy = dy and the gradients below are what backward returns.
		loss := func() float64 { return dot64(refConv3d(p, x64, w64, b64), dy64) }
		wantDX, wantDW, wantDB := numGrad(x64, loss), numGrad(w64, loss), numGrad(b64, loss)
		for _, nw := range workspaces() {
			for _, budget := range budgets {
				t.Run(fmt.Sprintf("%s/%s/budget=%d", tc.name, nw.name, budget), func(t *testing.T) {
					nw.ws.colBudget = budget
					dx, dw, db := filled[T](xl, 1e9), filled[T](wl, 1e9), filled[T](p.O, 1e9) // overwritten
					if err := Conv3dBackwardData(p, nw.ws, w, dy, dx); err != nil {
						t.Fatal(err)
					}
					if err := Conv3dBackwardWeights(p, nw.ws, x, dy, dw, db); err != nil {
						t.Fatal(err)
					}
					checkClose(t, "dx", dx, wantDX, tol[T]())
					checkClose(t, "dw", dw, wantDW, tol[T]())
					checkClose(t, "dbias", db, wantDB, tol[T]())
					// The bias gradient on its own gives the same values.
					db2 := filled[T](p.O, 1e9)
					if err := Conv3dBackwardBias(p, dy, db2); err != nil {
						t.Fatal(err)
					}
					checkClose(t, "dbias alone", db2, to64(db), 0)
				})
			}
		}
	}
}

// TestConv3dCausal checks MODEL.md 12.3 item 8 at the kernel level: changing input frame t
// changes no output frame before t, and does change frame t.
func TestConv3dCausal(t *testing.T) {
	p := Conv3d{N: 2, C: 4, O: 4, G: 2, T: 6, H: 4, W: 5, KT: 3, KH: 3, KW: 3, PadH: 1, PadW: 1}
	xl, wl, yl := p.Lens()
	rng := newRand(7)
	x, w := randSlice[float32](rng, xl), randSlice[float32](rng, wl)
	ws := NewWorkspace(2)
	base := make([]float32, yl)
	if err := Conv3dForward(p, ws, x, w, nil, base); err != nil {
		t.Fatal(err)
	}
	hw := p.H * p.W
	for tf := 0; tf < p.T; tf++ {
		t.Run(fmt.Sprintf("frame%d", tf), func(t *testing.T) {
			x2 := append([]float32(nil), x...)
			for n := 0; n < p.N; n++ {
				for c := 0; c < p.C; c++ {
					for i := 0; i < hw; i++ {
						x2[((n*p.C+c)*p.T+tf)*hw+i] += 0.5
					}
				}
			}
			y := make([]float32, yl)
			if err := Conv3dForward(p, ws, x2, w, nil, y); err != nil {
				t.Fatal(err)
			}
			changed := make([]bool, p.T)
			for i := range y {
				if y[i] != base[i] {
					changed[(i/hw)%p.T] = true
				}
			}
			for f := 0; f < tf; f++ {
				if changed[f] {
					t.Errorf("changing frame %d changed output frame %d", tf, f)
				}
			}
			if !changed[tf] {
				t.Errorf("changing frame %d left output frame %d unchanged", tf, tf)
			}
		})
	}
}

// TestConv3dStreamingMatchesCausal checks that the valid mode run on a KT-frame history gives
// the causal mode's output frame by frame (MODEL.md 12.3 item 10 at the kernel level).
func TestConv3dStreamingMatchesCausal(t *testing.T) {
	full := Conv3d{N: 2, C: 2, O: 3, G: 1, T: 5, H: 3, W: 4, KT: 3, KH: 3, KW: 3, PadH: 1, PadW: 1}
	xl, wl, yl := full.Lens()
	rng := newRand(8)
	x, w, b := randSlice[float32](rng, xl), randSlice[float32](rng, wl), randSlice[float32](rng, full.O)
	ws := NewWorkspace(2)
	y := make([]float32, yl)
	if err := Conv3dForward(full, ws, x, w, b, y); err != nil {
		t.Fatal(err)
	}
	step := full
	step.T, step.Time = full.KT, TimeValid
	hw := full.H * full.W
	hist := make([]float32, full.N*full.C*full.KT*hw)
	out := make([]float32, full.N*full.O*hw)
	for tf := 0; tf < full.T; tf++ {
		// History frames tf−2, tf−1, tf, oldest first, zeros before the start (MODEL.md 1.2).
		clear(hist)
		for n := 0; n < full.N; n++ {
			for c := 0; c < full.C; c++ {
				for k := 0; k < full.KT; k++ {
					if f := tf - full.KT + 1 + k; f >= 0 {
						copy(hist[((n*full.C+c)*full.KT+k)*hw:][:hw], x[((n*full.C+c)*full.T+f)*hw:])
					}
				}
			}
		}
		if err := Conv3dForward(step, ws, hist, w, b, out); err != nil {
			t.Fatal(err)
		}
		for n := 0; n < full.N; n++ {
			for o := 0; o < full.O; o++ {
				got := out[(n*full.O+o)*hw:][:hw]
				want := y[((n*full.O+o)*full.T+tf)*hw:][:hw]
				for i := range got {
					// Same products summed in the same order by the same sgemm blocks up to
					// rounding: allow float32 noise only.
					if d := got[i] - want[i]; d > 1e-5 || d < -1e-5 {
						t.Fatalf("frame %d n %d o %d pixel %d: streaming %v, causal %v", tf, n, o, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func TestConv3dRejectsBadInput(t *testing.T) {
	good := Conv3d{N: 1, C: 2, O: 2, G: 1, T: 1, H: 3, W: 3, KT: 1, KH: 3, KW: 3, PadH: 1, PadW: 1}
	xl, wl, yl := good.Lens()
	ws := NewWorkspace(1)
	mk := func(n int) []float32 { return make([]float32, n) }
	cases := []struct {
		name string
		run  func() error
	}{
		{"groups do not divide", func() error {
			p := good
			p.G = 3
			return Conv3dForward(p, ws, mk(xl), mk(wl), nil, mk(yl))
		}},
		{"zero size", func() error {
			p := good
			p.H = 0
			return Conv3dForward(p, ws, mk(xl), mk(wl), nil, mk(yl))
		}},
		{"valid with too few frames", func() error {
			p := good
			p.KT, p.Time = 2, TimeValid
			return p.Validate()
		}},
		{"kernel larger than input", func() error {
			p := good
			p.PadH = 0
			p.KH = 5
			return p.Validate()
		}},
		{"short x", func() error { return Conv3dForward(good, ws, mk(xl-1), mk(wl), nil, mk(yl)) }},
		{"long y", func() error { return Conv3dForward(good, ws, mk(xl), mk(wl), nil, mk(yl+1)) }},
		{"short bias", func() error { return Conv3dForward(good, ws, mk(xl), mk(wl), mk(1), mk(yl)) }},
		{"short dw", func() error { return Conv3dBackwardWeights(good, ws, mk(xl), mk(yl), mk(wl-1), nil) }},
		{"short dx", func() error { return Conv3dBackwardData(good, ws, mk(wl), mk(yl), mk(xl-1)) }},
		{"short dbias alone", func() error { return Conv3dBackwardBias(good, mk(yl), mk(1)) }},
		{"nil workspace", func() error { return Conv3dForward(good, nil, mk(xl), mk(wl), nil, mk(yl)) }},
		{"bad pad mode", func() error {
			p := good
			p.Pad = 7
			return p.Validate()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errors.Is(err, ErrShape) {
				t.Fatalf("got %v, want an error wrapping ErrShape", err)
			}
			t.Log(err)
		})
	}
}
