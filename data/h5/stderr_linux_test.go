package h5

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"

	"github.com/fmcore/fmcore/data"
)

// TestNoStderrSpam opens damaged files on fresh OS threads and checks that HDF5 printed
// nothing to the process's stderr. The library is thread-safe, so its automatic error
// printing is a per-thread setting: silencing it once at start-up (as the gonum binding
// does) leaves every other thread printing "HDF5-DIAG: Error detected…" blocks.
func TestNoStderrSpam(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.h5")
	writeFile(t, good, testRecording(2, false), testTrial(rand.New(rand.NewPCG(1, 1)), "0", 3, 2, data.TierTrain))
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.h5")
	garbled := filepath.Join(dir, "garbled.h5")
	if err := os.WriteFile(truncated, raw[:len(raw)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(garbled, garble(raw), 0o644); err != nil {
		t.Fatal(err)
	}

	capture, err := os.Create(filepath.Join(dir, "stderr.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer capture.Close()
	saved, err := syscall.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup3(int(capture.Fd()), 2, 0); err != nil {
		t.Fatal(err)
	}
	restore := func() {
		if err := syscall.Dup3(saved, 2, 0); err != nil {
			t.Fatal(err)
		}
		syscall.Close(saved)
	}

	// Each goroutine holds its own locked thread while the others start, so the opens
	// run on distinct threads, and exits locked, so its thread is discarded.
	const goroutines = 4
	var ready, done sync.WaitGroup
	ready.Add(goroutines)
	errs := make([]error, 2*goroutines)
	for g := range goroutines {
		done.Add(1)
		go func() {
			defer done.Done()
			runtime.LockOSThread()
			ready.Done()
			ready.Wait()
			_, errs[2*g] = Open(truncated)
			_, errs[2*g+1] = Open(garbled)
		}()
	}
	done.Wait()
	restore()

	for i, err := range errs {
		if err == nil {
			t.Errorf("open %d of a damaged file succeeded", i)
		}
	}
	out, err := os.ReadFile(capture.Name())
	if err != nil {
		t.Fatal(err)
	}
	if len(out) > 0 {
		t.Errorf("HDF5 wrote %d bytes to stderr:\n%.600s", len(out), out)
	}
}
