//go:build !purego

package kernels

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int num_threads);
// int openblas_get_num_threads(void);
import "C"

import (
	"os"
	"sync"

	"gonum.org/v1/netlib/blas/netlib"
)

// blasImpl is the BLAS behind gemm: OpenBLAS through gonum's cgo netlib binding.
type blasImpl = netlib.Implementation

// BLASName names the BLAS this build links: "openblas" by default, "gonum" under the purego
// build tag. Benchmarks and logs report it.
const BLASName = "openblas"

// blasOnce makes the one-thread default of blasDefaults happen once per process. It is the
// package's only package-level state: OpenBLAS's thread count is itself process-wide, and the
// default must be applied lazily because library code runs no init().
var blasOnce sync.Once

// blasDefaults applies the package's OpenBLAS default the first time any BLAS is used: one
// thread per call, unless the OPENBLAS_NUM_THREADS environment variable chose a count (then it
// is left alone) or SetBLASThreads ran first. The kernels fan out over batch items, groups and
// column blocks themselves and run one gemm per worker at a time; with OpenBLAS's threads on
// top the two levels oversubscribe the cores and OpenBLAS's idle threads spin (measured in
// doc.go).
func blasDefaults() {
	blasOnce.Do(func() {
		if os.Getenv("OPENBLAS_NUM_THREADS") == "" {
			C.openblas_set_num_threads(1)
		}
	})
}

// SetBLASThreads sets the number of threads OpenBLAS uses inside one gemm call, for the whole
// process, overriding both the package default of one thread (see blasDefaults) and the
// OPENBLAS_NUM_THREADS environment variable. It is process configuration, not kernel state: call
// it from main, before any kernel runs. Under the purego tag it does nothing: gonum's BLAS shares
// the Go scheduler with the kernels' fan-out.
func SetBLASThreads(n int) {
	blasOnce.Do(func() {}) // the explicit setting wins over the lazy default
	C.openblas_set_num_threads(C.int(max(1, n)))
}

// BLASThreads reports the number of threads OpenBLAS uses inside one gemm call (1 under the
// purego build tag), after the package default has been applied.
func BLASThreads() int {
	blasDefaults()
	return int(C.openblas_get_num_threads())
}
