package checkpoint

import (
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

// benchTensors returns about mb megabytes of tensors shaped like a session's readout and a
// core: a few large matrices and many small weights.
func benchTensors(mb int) []Tensor {
	rng := rand.New(rand.NewPCG(5, 5))
	var ts []Tensor
	left := mb * 1_000_000 / 4
	for i := 0; left > 0; i++ {
		n := min(left, 1_000_000) // readout features of 8,000 units × 125 channels
		if i%2 == 1 {
			n = min(left, 3*64*64*3) // a grouped 3×3×3 conv weight
		}
		ts = append(ts, randomTensor(rng, fmt.Sprintf("core.t%d", i), n))
		left -= n
	}
	return ts
}

// benchSizes are the checkpoint sizes of the benchmarks, in MB.
func benchSizes() []int { return []int{20} }

// BenchmarkWriteFile writes a checkpoint file, fsync and rename included.
func BenchmarkWriteFile(b *testing.B) {
	for _, mb := range benchSizes() {
		b.Run(fmt.Sprintf("MB=%d", mb), func(b *testing.B) {
			ts := benchTensors(mb)
			path := filepath.Join(b.TempDir(), "x.fmck")
			h := sampleHeader()
			b.SetBytes(int64(mb) * 1_000_000)
			for b.Loop() {
				if err := WriteFile(path, h, ts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncode measures the CPU part of a write (checks, CRC, encoding) without the disk.
func BenchmarkEncode(b *testing.B) {
	for _, mb := range benchSizes() {
		b.Run(fmt.Sprintf("MB=%d", mb), func(b *testing.B) {
			ts := benchTensors(mb)
			h := sampleHeader()
			h.Created = time.Unix(0, 0)
			b.SetBytes(int64(mb) * 1_000_000)
			for b.Loop() {
				hh := h
				head, err := Options{}.encodeHeader(&hh, ts)
				if err != nil {
					b.Fatal(err)
				}
				if err := writeBody(io.Discard, head, ts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadFile reads and verifies a checkpoint file (from the page cache).
func BenchmarkReadFile(b *testing.B) {
	for _, mb := range benchSizes() {
		b.Run(fmt.Sprintf("MB=%d", mb), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "x.fmck")
			if err := WriteFile(path, sampleHeader(), benchTensors(mb)); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(mb) * 1_000_000)
			for b.Loop() {
				if _, _, err := ReadFile(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
