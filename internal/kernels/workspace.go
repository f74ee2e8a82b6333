package kernels

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

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
	// worker[i] and workerInt[i] are the private scratch of fan-out worker i.
	worker    [][]float32
	workerInt [][]int32
	// shared is scratch read by all workers (for example reordered weights).
	shared []float32
	// colBudget overrides defaultColBudget when positive; tests shrink it to force the
	// multi-block paths of Conv3d on small inputs.
	colBudget int
}

// defaultColBudget is the size, in float32 elements, of the im2col block one worker builds
// before each sgemm: 1 MiB, half of the measured machine's 2 MiB L2 per core, so that the block
// is still in cache when sgemm packs it.
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
	return &Workspace{workers: workers, worker: make([][]float32, workers), workerInt: make([][]int32, workers)}
}

// Workers reports the largest number of goroutines a kernel run with ws fans out to.
func (ws *Workspace) Workers() int { return ws.workers }

// workerBufs returns one private scratch slice of length n for each of the first k workers,
// growing them if needed. It must be called before the fan-out, from the calling goroutine.
func (ws *Workspace) workerBufs(k, n int) [][]float32 {
	for i := 0; i < k; i++ {
		if cap(ws.worker[i]) < n {
			ws.worker[i] = make([]float32, n)
		}
		ws.worker[i] = ws.worker[i][:n]
	}
	return ws.worker[:k]
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
func (ws *Workspace) sharedBuf(n int) []float32 {
	if cap(ws.shared) < n {
		ws.shared = make([]float32, n)
	}
	ws.shared = ws.shared[:n]
	return ws.shared
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
		for t := 0; t < tasks; t++ {
			fn(0, t)
		}
		return
	}
	var next atomic.Int64
	loop := func(w int) {
		for {
			t := int(next.Add(1) - 1)
			if t >= tasks {
				return
			}
			fn(w, t)
		}
	}
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
