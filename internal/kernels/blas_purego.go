//go:build purego

package kernels

import "gonum.org/v1/gonum/blas/gonum"

// blasImpl is the BLAS behind gemm: gonum's pure-Go implementation (SSE kernels, internally
// parallel on the Go scheduler).
type blasImpl = gonum.Implementation

// BLASName names the BLAS this build links: "openblas" by default, "gonum" under the purego
// build tag. Benchmarks and logs report it.
const BLASName = "gonum"

// blasDefaults has nothing to set up for gonum's BLAS.
func blasDefaults() {}

// SetBLASThreads does nothing under the purego build tag: gonum's BLAS runs its goroutines on
// the Go scheduler, which the kernels' own fan-out shares. See the OpenBLAS build's
// SetBLASThreads for the default build.
func SetBLASThreads(n int) {}

// BLASThreads reports the number of threads OpenBLAS uses inside one gemm call (1 under the
// purego build tag).
func BLASThreads() int { return 1 }
