// Package kernels holds fmcore's fast compute kernels (STYLE.md rule 16): plain Go functions on
// contiguous slices with explicit sizes, writing into caller-provided buffers. The gorgonia Ops
// in model/nn are thin wrappers that check shapes, fetch backing slices and call these; no
// numeric loop lives in an Op. The package imports no other fmcore package and no gorgonia.
//
// # Kernels
//
// Each kernel is a generic function over the element type (Float: float32 or float64) taking a
// descriptor of its sizes (Conv3d, GridSample, LSTMCell, Attention, WeightStd, AvgPool2) as its
// first argument, with a forward pass and the backward passes the network needs:
//
//   - Gemm: row-major C = alpha·op(A)·op(B) + beta·C, the one BLAS entry point (sgemm or dgemm).
//   - Conv3d (Conv3dForward, Conv3dBackwardData, Conv3dBackwardWeights, Conv3dBackwardBias):
//     grouped 3-D convolution on NCTHW tensors with the reference's weight layout
//     [O, C/G, KT, KH, KW] (MODEL.md 1.5), spatial stride and zero or replicate padding, and
//     causal (KT−1 zero frames in front) or valid time; 2-D convolutions and Linear layers are
//     special cases (MODEL.md 4.3, 4.4).
//   - GridSample: bilinear sampling with align_corners = false, zeros or border padding
//     (perspective, MODEL.md 4.1 step 5; readout, 4.6).
//   - WeightStd: scaled weight standardization (MODEL.md 1.4).
//   - LSTMCell: the fused LSTM update on pre-activation gates (MODEL.md 4.2, 4.4 step 6).
//   - Attention: the CvT-LSTM's per-group cosine attention (MODEL.md 4.4 step 5).
//   - GELU (times GELUGamma), AvgPool2 (2×2, stride 2, per frame) and PoissonLoss with NaN
//     targets masked (MODEL.md 1.4, 4.3, 4.7, 11.5).
//   - Reduce (ReduceSum, ReduceBroadcast): sums over any axes with float64 accumulation, and
//     their adjoint, broadcasting; ColCopy (CopyCols) and ConcatCols: slicing, zero-padded
//     placement and concatenation as column-block copies. model/nn builds its Sum, Mean,
//     broadcasting, Slice, Concat and CatGroups on these instead of gorgonia's, which are
//     wrong for some shapes (model/nn copy.go).
//
// # Conventions
//
// Shapes are written with the letters N batch, T frames, C channels, H, W, U units, G groups,
// P points or positions, L tokens. Tensors are row-major in the order written: x [N, C, T, H, W]
// is NCTHW. Every kernel checks its sizes and slice lengths (exact, not "at least") and returns
// an error wrapping ErrShape, naming the kernel and the slice, instead of panicking. Outputs and
// gradients are overwritten, never accumulated into; a nil optional input (bias, gain, initial
// cell state, one of two gradients) is documented per kernel.
//
// Kernels that need scratch or parallelism take a *Workspace: it fans work out over a small
// fixed number of goroutines (GOMAXPROCS by default; tasks are batch items, groups, frames and
// column blocks) and keeps per-worker scratch that grows to the largest call and is then reused,
// so that steady-state calls allocate no large buffers. A Workspace serves one goroutine at a
// time.
//
// # float32 and float64
//
// The model trains in float32: arithmetic is float32, with float64 accumulation where sums are
// long or cancel (norms, statistics, softmax denominators, losses). The transcendental functions
// of the LSTM, GELU and softmax are evaluated by the float64 approximations of mathf.go, whose
// errors stay at float32 rounding level (TestFastMath) at a fraction of the cost of the math
// package.
//
// float64 exists for gradient checks: model/nn compares every Op's gradients with central finite
// differences to a relative error of 1e-5, which float32 cannot resolve. The float64
// instantiations run the same code with dgemm, and call the math package's Exp, Tanh and Erfc
// instead of the fast approximations (isDouble), since an error of 1e-8 in a function value
// becomes an error of 1e-2 in a difference quotient with step 1e-6. Go compiles each element
// type separately, so the float32 path runs exactly the code it ran before it became generic
// (measured in the benchmarks: same time within noise).
//
// # BLAS, build tags and threads
//
// The default build links OpenBLAS through gonum.org/v1/netlib (blas_openblas.go carries the
// -lopenblas flag; Debian's libopenblas-dev). The purego build tag swaps in gonum's pure-Go
// BLAS (about 9× slower sgemm, TOOLCHAIN.md 3) for machines without OpenBLAS; everything else is
// shared, and both builds pass the same tests:
//
//	go test ./internal/kernels/
//	go test -tags purego ./internal/kernels/
//
// The kernels fan out themselves and run one gemm per worker at a time, so OpenBLAS should use
// one thread per call. That is the default: the first BLAS call of the process sets OpenBLAS to
// one thread (once, lazily, since library code runs no init()), unless OPENBLAS_NUM_THREADS is
// set in the environment; SetBLASThreads overrides both. Measured on two cores, two workers each
// calling a 2-thread OpenBLAS made the attention's forward+backward 1.5× slower and doubled its
// CPU time (OpenBLAS's idle threads spin), and the conv2d benchmark's forward+backward 1.3×
// slower, than one thread per call. A CUDA implementation of the same functions can later sit
// beside this one behind a cuda build tag.
//
// # Tests and benchmarks
//
// Every kernel has a naive float64 reference in its _test.go file, and every test runs for both
// element types: forward passes match the reference to a relative error of 1e-5 (float32) or
// 1e-8 (float64), and backward passes match central finite differences of the reference to the
// same tolerances.
// Benchmarks run the sizes of TOOLCHAIN.md section 3 and of the released model:
//
//	OPENBLAS_NUM_THREADS=1 go test ./internal/kernels -run xxx -bench . -benchtime 5x
package kernels
