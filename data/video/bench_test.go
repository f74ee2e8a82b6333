package video

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"
)

// benchClip writes the benchmark clip: 600 frames (20 s at 30 fps) of 640×360 H.264,
// 4:2:0, libx264's default quality; testsrc2 moves every frame, like natural video.
func benchClip(b *testing.B) string {
	b.Helper()
	requireFFmpeg(b)
	path := filepath.Join(b.TempDir(), "clip.mp4")
	ffmpegLavfi(b, path, "testsrc2=s=640x360:r=30:d=20",
		"-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast")
	return path
}

// benchSizes returns the model resolutions: SENSORIUM's 64×36 and the paper's 256×144.
func benchSizes() []Params {
	return []Params{{Width: 64, Height: 36, RateHz: 30}, {Width: 256, Height: 144, RateHz: 30}}
}

// BenchmarkDecode decodes the whole clip through a Decoder per iteration, process start
// included, and reports output frames per second.
func BenchmarkDecode(b *testing.B) {
	path := benchClip(b)
	for _, p := range benchSizes() {
		b.Run(fmt.Sprintf("%dx%d", p.Width, p.Height), func(b *testing.B) {
			frame := make([]byte, p.FrameBytes())
			total := 0
			for b.Loop() {
				n, err := decodeCount(path, p, frame)
				if err != nil {
					b.Fatal(err)
				}
				if n != 600 {
					b.Fatalf("decoded %d frames, want 600", n)
				}
				total += n
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// decodeCount decodes path to p into one reused frame and returns the frame count.
func decodeCount(path string, p Params, frame []byte) (int, error) {
	d, err := Open(context.Background(), path, p)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	for n := 0; ; n++ {
		if err := d.Next(frame); err == io.EOF {
			return n, nil
		} else if err != nil {
			return n, err
		}
	}
}

// BenchmarkCache measures a cache hit on the clip (hash the video, read and verify the
// entry) and a 100-frame window read from an open entry, the training access pattern.
func BenchmarkCache(b *testing.B) {
	path := benchClip(b)
	ctx := context.Background()
	for _, p := range benchSizes() {
		c, err := NewCache(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Frames(ctx, path, p); err != nil { // fill once
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("hit/%dx%d", p.Width, p.Height), func(b *testing.B) {
			total := 0
			for b.Loop() {
				_, n, err := c.Frames(ctx, path, p)
				if err != nil {
					b.Fatal(err)
				}
				total += n
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "frames/s")
		})
		b.Run(fmt.Sprintf("window100/%dx%d", p.Width, p.Height), func(b *testing.B) {
			e, err := c.Open(ctx, path, p)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			dst := make([]byte, 100*p.FrameBytes())
			start, total := 0, 0
			for b.Loop() {
				if err := e.ReadFrames(start, 100, dst); err != nil {
					b.Fatal(err)
				}
				start = (start + 137) % (e.Len() - 100)
				total += 100
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
