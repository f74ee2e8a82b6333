package kernels

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Float is the element type of the kernels: float32, what the model trains in, or float64,
// what the gradient checks run in (model/nn compares every Op with finite differences in
// float64). The two instantiations are compiled separately, so the float32 path pays nothing
// for the float64 one.
type Float interface{ ~float32 | ~float64 }

// isDouble reports whether T is a 64-bit float. The kernels branch on it where float64 must be
// exact rather than fast: the transcendental functions of mathf.go are accurate to float32
// rounding only, which would swamp a float64 finite-difference check, so the float64 path calls
// the math package instead. The branch is on a constant of each instantiation.
func isDouble[T Float]() bool { return unsafe.Sizeof(T(0)) == 8 }

// ErrShape is wrapped by every error about a size argument or a slice length that does not
// match the sizes. Such an error is a programming error in the caller (the gorgonia Op that
// wraps the kernel checks shapes first), so it names the kernel, the slice and both lengths.
var ErrShape = errors.New("kernels: shape mismatch")

// Workspace is the execution context of the kernels: the number of goroutines a kernel may fan
// out to, and scratch buffers (im2col columns, per-worker partial sums, attention matrices) that
// grow to the largest size asked for and are then reused, so that steady-state calls allocate
// no large buffers.
//
// A Workspace is not safe for concurrent use: give each goroutine that calls kernels its own.
// Kernels that need scratch take a *Workspace; results never alias it, so a Workspace may be
// shared by every layer of a network run by one goroutine.
type Workspace struct {
	workers int
	// f32 and f64 hold the float scratch of each element type, so that one Workspace serves
	// float32 and float64 kernels alike.
	f32 scratch[float32]
	f64 scratch[float64]
	// workerInt[i] is the private integer scratch of fan-out worker i.
	workerInt [][]int32
	// colBudget overrides defaultColBudget when positive; tests shrink it to force the
	// multi-block paths of Conv3d on small inputs.
	colBudget int
}

// scratch is the float scratch of one element type.
type scratch[T Float] struct {
	// worker[i] is the private scratch of fan-out worker i.
	worker [][]T
	// shared is scratch read by all workers (for example reordered weights).
	shared []T
}

// scratchOf returns ws's scratch for element type T. scratch[T] for a type T whose underlying
// type is float32 has exactly the layout of scratch[float32] (likewise for float64), so the
// pointer conversion is sound.
func scratchOf[T Float](ws *Workspace) *scratch[T] {
	if isDouble[T]() {
		return (*scratch[T])(unsafe.Pointer(&ws.f64))
	}
	return (*scratch[T])(unsafe.Pointer(&ws.f32))
}

// defaultColBudget is the size, in elements, of the im2col block one worker builds before each
// sgemm: 1 MiB of float32, half of the measured machine's 2 MiB L2 per core, so that the block
// is still in cache when sgemm packs it. float64 kernels use the same element count (2 MiB):
// they serve gradient checks, where blocking identical to float32's matters more than speed.
const defaultColBudget = 1 << 18

// budget returns the im2col block size in elements.
func (ws *Workspace) budget() int {
	if ws.colBudget > 0 {
		return ws.colBudget
	}
	return defaultColBudget
}

// NewWorkspace returns a Workspace that fans out to at most workers goroutines; workers ≤ 0
// means runtime.GOMAXPROCS(0). With OpenBLAS, see SetBLASThreads for how this interacts with
// OpenBLAS's own threads.
func NewWorkspace(workers int) *Workspace {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return &Workspace{
		workers:   workers,
		f32:       scratch[float32]{worker: make([][]float32, workers)},
		f64:       scratch[float64]{worker: make([][]float64, workers)},
		workerInt: make([][]int32, workers),
	}
}

// Workers reports the largest number of goroutines a kernel run with ws fans out to.
func (ws *Workspace) Workers() int { return ws.workers }

// workerBufs returns one private scratch slice of length n for each of the first k workers,
// growing them if needed. It must be called before the fan-out, from the calling goroutine.
func workerBufs[T Float](ws *Workspace, k, n int) [][]T {
	w := scratchOf[T](ws).worker
	for i := 0; i < k; i++ {
		if cap(w[i]) < n {
			w[i] = make([]T, n)
		}
		w[i] = w[i][:n]
	}
	return w[:k]
}

// workerInts is workerBufs for int32 scratch (sample indices).
func (ws *Workspace) workerInts(k, n int) [][]int32 {
	for i := 0; i < k; i++ {
		if cap(ws.workerInt[i]) < n {
			ws.workerInt[i] = make([]int32, n)
		}
		ws.workerInt[i] = ws.workerInt[i][:n]
	}
	return ws.workerInt[:k]
}

// sharedBuf returns the shared scratch slice with length n, growing it if needed.
func sharedBuf[T Float](ws *Workspace, n int) []T {
	s := scratchOf[T](ws)
	if cap(s.shared) < n {
		s.shared = make([]T, n)
	}
	s.shared = s.shared[:n]
	return s.shared
}

// fanout returns how many workers to use for tasks independent tasks.
func (ws *Workspace) fanout(tasks int) int {
	return max(1, min(ws.workers, tasks))
}

// run calls fn(worker, task) for every task in [0, tasks) on ws.fanout(tasks) goroutines, the
// calling goroutine being worker 0. Tasks are handed out dynamically (an atomic counter), so
// uneven tasks balance; a worker index is used by one goroutine at a time, so fn may use
// per-worker scratch indexed by it.
func (ws *Workspace) run(tasks int, fn func(worker, task int)) {
	k := ws.fanout(tasks)
	if k == 1 {
		ws.serial(tasks, fn)
		return
	}
	var next atomic.Int64
	ws.fan(k, func(w int) {
		for {
			t := int(next.Add(1) - 1)
			if t >= tasks {
				return
			}
			fn(w, t)
		}
	})
}

// runStatic is run with a fixed assignment: worker w calls fn for tasks w, w+k, w+2k, … in
// increasing order (k = ws.fanout(tasks)). Kernels that accumulate per-worker partial sums
// use it, so that which tasks each partial holds, and so every rounding, is the same on
// every call: their results are bit-reproducible for a given number of workers (with run's
// dynamic hand-out they varied from call to call in the last bits).
func (ws *Workspace) runStatic(tasks int, fn func(worker, task int)) {
	k := ws.fanout(tasks)
	if k == 1 {
		ws.serial(tasks, fn)
		return
	}
	ws.fan(k, func(w int) {
		for t := w; t < tasks; t += k {
			fn(w, t)
		}
	})
}

// serial runs every task on the calling goroutine as worker 0 (no closure, no allocation).
func (ws *Workspace) serial(tasks int, fn func(worker, task int)) {
	for t := range tasks {
		fn(0, t)
	}
}

// fan runs loop(w) for w = 1 … k−1 on new goroutines and loop(0) on the calling one, and
// waits for all of them.
func (ws *Workspace) fan(k int, loop func(w int)) {
	var wg sync.WaitGroup
	for w := 1; w < k; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(w)
		}()
	}
	loop(0)
	wg.Wait()
}

// parallelRange splits [0, n) into about ws.workers contiguous ranges, each of at least
// minChunk elements, and calls fn(worker, lo, hi) for each on the fan-out. Elementwise kernels
// use it; minChunk keeps tiny inputs on the calling goroutine.
func (ws *Workspace) parallelRange(n, minChunk int, fn func(worker, lo, hi int)) {
	chunks := max(1, min(ws.workers, n/max(1, minChunk)))
	size := (n + chunks - 1) / chunks
	ws.run(chunks, func(w, c int) {
		lo := c * size
		hi := min(n, lo+size)
		if lo < hi {
			fn(w, lo, hi)
		}
	})
}

// checkWS returns an error when ws is nil.
func checkWS(kernel string, ws *Workspace) error {
	if ws == nil {
		return fmt.Errorf("%s: nil workspace (create one with NewWorkspace): %w", kernel, ErrShape)
	}
	return nil
}

// checkLen returns an error when slice name of kernel does not have exactly want elements.
func checkLen(kernel, name string, got, want int) error {
	if got != want {
		return fmt.Errorf("%s: %s has %d elements, want %d: %w", kernel, name, got, want, ErrShape)
	}
	return nil
}

// checkPositive returns an error when any of the named sizes is below 1.
func checkPositive(kernel string, names string, sizes ...int) error {
	for _, s := range sizes {
		if s < 1 {
			return fmt.Errorf("%s: sizes %s = %v must all be ≥ 1: %w", kernel, names, sizes, ErrShape)
		}
	}
	return nil
}
