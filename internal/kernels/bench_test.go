package kernels

import (
	"syscall"
	"testing"
)

// cpuSeconds returns the user+system CPU time of this process.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// Benchmarks at the sizes of TOOLCHAIN.md section 3 and of the released model (MODEL.md 3,
// 4.4). Each reports GFLOP/s (nominal multiply-adds ×2, including the causal zero frames) next
// to ns/op. Run: go test ./internal/kernels -run xxx -bench . -benchtime 5x

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
		x, w, bias, dy := randSlice(rng, xl), randSlice(rng, wl), randSlice(rng, p.O), randSlice(rng, yl)
		y, dx, dw, db := make([]float32, yl), make([]float32, xl), make([]float32, wl), make([]float32, p.O)
		flops := 2 * float64(yl) * float64(wl/p.O)
		ws := NewWorkspace(0)
		b.Run(tc.name+"/fwd", func(b *testing.B) {
			benchKernel(b, flops, func() error { return p.Forward(ws, x, w, bias, y) })
		})
		b.Run(tc.name+"/fwd+bwd", func(b *testing.B) {
			benchKernel(b, 3*flops, func() error {
				if err := p.Forward(ws, x, w, bias, y); err != nil {
					return err
				}
				if err := p.BackwardData(ws, w, dy, dx); err != nil {
					return err
				}
				return p.BackwardWeights(ws, x, dy, dw, db)
			})
		})
	}
}
