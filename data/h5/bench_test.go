package h5

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/fmcore/fmcore/data"
)

// benchSizes are SENSORIUM-like trials: 300 frames (10 s at 30 Hz) of about 8,000 units
// (PEERS.md §1), and a small session.
var benchSizes = []struct{ T, U int }{{300, 8000}, {300, 500}}

// benchFile writes one trial of T×U to a temporary recording and opens it.
func benchFile(b *testing.B, T, U int) *File {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.h5")
	writeFile(b, path, testRecording(U, false), testTrial(rand.New(rand.NewPCG(1, 2)), "0", T, U, data.TierTrain))
	f, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}

// BenchmarkReadWindow reads 60-frame windows (2 s) at varying offsets, as a training
// loader does.
func BenchmarkReadWindow(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(fmt.Sprintf("T%d_U%d", s.T, s.U), func(b *testing.B) {
			f := benchFile(b, s.T, s.U)
			const n = 60
			var dst data.Trial
			b.SetBytes(int64(4 * n * (s.U + 4)))
			for i := 0; b.Loop(); i++ {
				if err := f.ReadTrialRangeInto(&dst, "0", (i*37)%(s.T-n), n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWriteTrial writes one trial (compression included) per iteration.
func BenchmarkWriteTrial(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(fmt.Sprintf("T%d_U%d", s.T, s.U), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			tr := testTrial(rng, "0", s.T, s.U, data.TierTrain)
			w, err := Create(filepath.Join(b.TempDir(), "bench.h5"), testRecording(s.U, false))
			if err != nil {
				b.Fatal(err)
			}
			defer w.Abort()
			b.SetBytes(int64(4 * s.T * (s.U + 4)))
			for i := 0; b.Loop(); i++ {
				tr.ID = fmt.Sprint(i)
				if err := w.WriteTrial(tr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpen opens a recording of 400 short trials: Open checks every trial's
// attributes and dataset shapes.
func BenchmarkOpen(b *testing.B) {
	const trials, T, U = 400, 10, 50
	rng := rand.New(rand.NewPCG(1, 2))
	path := filepath.Join(b.TempDir(), "many.h5")
	var ts []*data.Trial
	for i := range trials {
		ts = append(ts, testTrial(rng, fmt.Sprint(i), T, U, data.TierTrain))
	}
	writeFile(b, path, testRecording(U, false), ts...)
	for b.Loop() {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
