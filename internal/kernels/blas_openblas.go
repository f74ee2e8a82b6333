//go:build !purego

package kernels

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int num_threads);
// int openblas_get_num_threads(void);
import "C"

import "gonum.org/v1/netlib/blas/netlib"

// blasImpl is the BLAS behind sgemm: OpenBLAS through gonum's cgo netlib binding.
type blasImpl = netlib.Implementation

// BLASName names the BLAS this build links: "openblas" by default, "gonum" under the purego
// build tag. Benchmarks and logs report it.
const BLASName = "openblas"

// SetBLASThreads sets the number of threads OpenBLAS uses inside one sgemm call, for the whole
// process (like the OPENBLAS_NUM_THREADS environment variable, which sets the start value). It is
// process configuration, not kernel state: call it once from main, before any kernel runs.
//
// The kernels already fan out over batch, groups and column blocks (NewWorkspace) and run one
// sgemm per worker at a time, so one OpenBLAS thread per call is the right setting: with more,
// the two levels of threading oversubscribe the cores (measured in doc.go). Under the purego
// tag it does nothing: gonum's BLAS shares the Go scheduler with the fan-out.
func SetBLASThreads(n int) {
	C.openblas_set_num_threads(C.int(max(1, n)))
}

// BLASThreads reports the number of threads OpenBLAS uses inside one sgemm call (1 under the
// purego build tag).
func BLASThreads() int {
	return int(C.openblas_get_num_threads())
}
