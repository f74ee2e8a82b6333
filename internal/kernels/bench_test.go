package kernels

import (
	"syscall"
	"testing"
)

// Benchmarks at the sizes of TOOLCHAIN.md section 3 and of the released model (MODEL.md 3,
// 4.4). Each reports, next to ns/op, GFLOP/s where it is meaningful (nominal multiply-adds ×2,
// including the causal zero frames) and cpu-ms/op, the process CPU time per call: on a machine
// shared with other jobs wall time varies by 2× between runs, CPU time much less. Run:
//
//	OPENBLAS_NUM_THREADS=1 go test ./internal/kernels -run xxx -bench . -benchtime 5x

// cpuSeconds returns the user+system CPU time of this process.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// benchKernel times fn, reporting flops floating-point operations per call as GFLOP/s. It is
// the one size-parameterised helper every benchmark below goes through.
func benchKernel(b *testing.B, flops float64, fn func() error) {
	b.Helper()
	if err := fn(); err != nil { // warm-up: grows the workspace
		b.Fatal(err)
	}
	b.ResetTimer()
	c0 := cpuSeconds()
	for b.Loop() {
		if err := fn(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuSeconds()-c0)*1e3/float64(b.N), "cpu-ms/op")
	if flops > 0 {
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	}
}

// convBenchCases are the convolution sizes benchmarked.
var convBenchCases = []struct {
	name string
	p    Conv3d
}{
	// TOOLCHAIN.md 3: hand im2col + OpenBLAS 11.4–12.6 ms fwd+bwd, PyTorch 3.4 ms.
	{"conv2d-N8-16to32-64x64-3x3", Conv3d{N: 8, C: 16, O: 32, G: 1, T: 1, H: 64, W: 64, KT: 1, KH: 3, KW: 3, PadH: 1, PadW: 1}},
	// TOOLCHAIN.md 3: PyTorch 16–28 ms fwd+bwd (with symmetric temporal padding).
	{"conv3d-N2-16to32-T8-64x64-3x3x3", Conv3d{N: 2, C: 16, O: 32, G: 1, T: 8, H: 64, W: 64, KT: 3, KH: 3, KW: 3, PadH: 1, PadW: 1}},
	// MODEL.md 4.4 step 3: the recurrent core's grouped 3×3 conv, one frame.
	{"recurrent-N4-512to512-G8-16x24-3x3", Conv3d{N: 4, C: 512, O: 512, G: 8, T: 1, H: 16, W: 24, KT: 1, KH: 3, KW: 3, PadH: 1, PadW: 1}},
}

func BenchmarkConv3d(b *testing.B) {
	for _, tc := range convBenchCases {
		p := tc.p
		xl, wl, yl := p.Lens()
		rng := newRand(1)
		x, w, bias, dy := randSlice[float32](rng, xl), randSlice[float32](rng, wl), randSlice[float32](rng, p.O), randSlice[float32](rng, yl)
		y, dx, dw, db := make([]float32, yl), make([]float32, xl), make([]float32, wl), make([]float32, p.O)
		flops := 2 * float64(yl) * float64(wl/p.O)
		ws := NewWorkspace(0)
		b.Run(tc.name+"/fwd", func(b *testing.B) {
			benchKernel(b, flops, func() error { return Conv3dForward(p, ws, x, w, bias, y) })
		})
		b.Run(tc.name+"/bwd-data", func(b *testing.B) {
			benchKernel(b, flops, func() error { return Conv3dBackwardData(p, ws, w, dy, dx) })
		})
		b.Run(tc.name+"/bwd-weights", func(b *testing.B) {
			benchKernel(b, flops, func() error { return Conv3dBackwardWeights(p, ws, x, dy, dw, db) })
		})
		b.Run(tc.name+"/fwd+bwd", func(b *testing.B) {
			benchKernel(b, 3*flops, func() error {
				if err := Conv3dForward(p, ws, x, w, bias, y); err != nil {
					return err
				}
				if err := Conv3dBackwardData(p, ws, w, dy, dx); err != nil {
					return err
				}
				return Conv3dBackwardWeights(p, ws, x, dy, dw, db)
			})
		})
	}
}

// BenchmarkAttention times the recurrent core's cosine attention (MODEL.md 4.4 step 5: N 4,
// G 8, C 64, L 384). GFLOP/s counts the L×L products only (2, and 5 more in the backward pass
// with its recomputed logits), not the softmax.
func BenchmarkAttention(b *testing.B) {
	a := Attention{N: 4, G: 8, C: 64, L: 384}
	q, k, v, s := attnInputs[float32](a, 1)
	n := len(q)
	out, dout := make([]float32, n), randSlice[float32](newRand(2), n)
	dq, dk, dv, ds := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, len(s))
	ws := NewWorkspace(0)
	product := 2 * float64(a.N*a.G) * float64(a.L*a.L*a.C)
	b.Run("fwd", func(b *testing.B) {
		benchKernel(b, 2*product, func() error { return AttentionForward(a, ws, q, k, v, s, out) })
	})
	b.Run("fwd+bwd", func(b *testing.B) {
		benchKernel(b, 7*product, func() error {
			if err := AttentionForward(a, ws, q, k, v, s, out); err != nil {
				return err
			}
			return AttentionBackward(a, ws, q, k, v, s, dout, dq, dk, dv, ds)
		})
	})
}

// BenchmarkGridSample times the perspective module's resampling (MODEL.md 4.1 step 5: N 4,
// 144×256 monitor image → 128×192 retina) and a readout (MODEL.md 4.6: N 4, C 128, 16×24 map,
// 8,000 units), forward and forward plus both gradients.
func BenchmarkGridSample(b *testing.B) {
	for _, tc := range []struct {
		name string
		g    GridSample
	}{
		{"perspective-N4-144x256-to-128x192", GridSample{N: 4, C: 1, H: 144, W: 256, P: 128 * 192, Pad: GridZeros}},
		{"readout-N4-C128-16x24-U8000", GridSample{N: 4, C: 128, H: 16, W: 24, P: 8000, Pad: GridBorder}},
	} {
		g := tc.g
		rng := newRand(1)
		img, grid := randSlice[float32](rng, g.N*g.C*g.H*g.W), scaled(randSlice[float32](rng, g.N*g.P*2), 0.9)
		out, dout := make([]float32, g.N*g.C*g.P), randSlice[float32](rng, g.N*g.C*g.P)
		dimg, dgrid := make([]float32, len(img)), make([]float32, len(grid))
		ws := NewWorkspace(0)
		b.Run(tc.name+"/fwd", func(b *testing.B) {
			benchKernel(b, 0, func() error { return GridSampleForward(g, ws, img, grid, out) })
		})
		b.Run(tc.name+"/fwd+bwd", func(b *testing.B) {
			benchKernel(b, 0, func() error {
				if err := GridSampleForward(g, ws, img, grid, out); err != nil {
					return err
				}
				return GridSampleBackward(g, ws, img, grid, dout, dimg, dgrid)
			})
		})
	}
}

// BenchmarkPointwise times the elementwise kernels at model sizes: the recurrent core's LSTM
// update (N 4, hidden 256 in 8 groups, 16×24) and GELU on one frame of dense block 0's input
// (N 4, 32 channels, 64×96).
func BenchmarkPointwise(b *testing.B) {
	ws := NewWorkspace(0)
	l := LSTMCell{N: 4, G: 8, Hd: 256, P: 384}
	n := l.N * l.Hd * l.P
	rng := newRand(1)
	gates, cPrev, dh := scaled(randSlice[float32](rng, 4*n), 3), randSlice[float32](rng, n), randSlice[float32](rng, n)
	c, h, dGates, dcPrev := make([]float32, n), make([]float32, n), make([]float32, 4*n), make([]float32, n)
	b.Run("lstm-N4-Hd256-G8-16x24/fwd", func(b *testing.B) {
		benchKernel(b, 0, func() error { return LSTMCellForward(l, ws, gates, cPrev, c, h) })
	})
	b.Run("lstm-N4-Hd256-G8-16x24/bwd", func(b *testing.B) {
		benchKernel(b, 0, func() error { return LSTMCellBackward(l, ws, gates, cPrev, dh, nil, dGates, dcPrev) })
	})
	x := scaled(randSlice[float32](rng, 4*32*64*96), 3)
	y := make([]float32, len(x))
	b.Run("gelu-N4-C32-64x96/fwd", func(b *testing.B) {
		benchKernel(b, 0, func() error { return GELU(ws, x, y) })
	})
	b.Run("gelu-N4-C32-64x96/bwd", func(b *testing.B) {
		benchKernel(b, 0, func() error { return GELUBackward(ws, x, x, y) })
	})
}
