package video

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestDecodeFlat decodes flat-grey clips made the way common tools make them (4:2:0,
// limited range) to shrunk, enlarged and mixed sizes at two rates.
func TestDecodeFlat(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	// 128×72 at 30 fps for exactly 1 s: 30 source frames.
	sources := map[byte]string{128: dir + "/grey128.mp4", 37: dir + "/grey37.mp4"}
	for v, path := range sources {
		ffmpegLavfi(t, path, fmt.Sprintf("color=c=0x%02x%02x%02x:s=128x72:r=30:d=1", v, v, v),
			"-c:v", "libx264", "-pix_fmt", "yuv420p")
	}
	sizes := []struct{ w, h int }{{64, 36}, {256, 144}, {200, 50}} // down, up, mixed
	for _, v := range []byte{128, 37} {
		for _, sz := range sizes {
			for _, rate := range []float64{30, 15} {
				t.Run(fmt.Sprintf("grey%d/%dx%d/%vHz", v, sz.w, sz.h, rate), func(t *testing.T) {
					p := Params{Width: sz.w, Height: sz.h, RateHz: rate}
					frames, n := readAll(t, sources[v], p)
					if want := int(rate); n != want { // 1 s at rate Hz
						t.Fatalf("got %d frames, want %d", n, want)
					}
					// ±2: the limited-range round trip (RGB → Y 16…235 → full-range
					// gray) rounds twice, each worth up to one grey level.
					for i, got := range frames {
						if d := int(got) - int(v); d < -2 || d > 2 {
							t.Fatalf("pixel %d of frame %d = %d, want %d ± 2", i%p.FrameBytes(), i/p.FrameBytes(), got, v)
						}
					}
				})
			}
		}
	}
}

// TestDecodeRate checks the sample-and-hold rule and the frame count on clips whose frame
// k has luminance step·k, so every output frame says which source frame it shows.
func TestDecodeRate(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	type source struct {
		path string
		rate float64 // source fps
		n    int     // source frames
		step int     // grey levels per frame index
	}
	src60 := source{dir + "/src60.mp4", 60, 60, 4}
	src15 := source{dir + "/src15.mp4", 15, 15, 16}
	for _, s := range []source{src60, src15} {
		encodeVideo(t, s.path, 32, 18, s.rate, s.n, func(k int, f []byte) { flat(byte(s.step*k))(k, f) })
	}
	// mkv stores times in whole milliseconds: frame 2 of a 30 fps clip sits at 67 ms, after
	// the 30 Hz output time 66.67 ms. Without ε, output 2 would repeat frame 1.
	srcMKV := source{dir + "/src30.mkv", 30, 10, 16}
	ffmpegLavfi(t, srcMKV.path, "color=black:s=32x18:r=30:d=0.3333333,format=gray,geq=lum='N*16'",
		"-c:v", "libx264", "-qp", "0", "-pix_fmt", "gray", "-color_range", "pc")

	cases := []struct {
		name string
		src  source
		rate float64
	}{
		{"60fps at 30Hz", src60, 30},
		{"60fps at 60Hz", src60, 60},
		{"60fps at 7Hz", src60, 7},
		{"60fps at 29.97Hz", src60, 29.97},
		{"15fps at 30Hz", src15, 30},
		{"15fps at 45Hz", src15, 45},
		{"15fps at 10Hz", src15, 10},
		{"mkv 30fps at 30Hz", srcMKV, 30},
		{"mkv 30fps at 20Hz", srcMKV, 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Params{Width: 32, Height: 18, RateHz: c.rate}
			frames, n := readAll(t, c.src.path, p)
			// The rule of the Decoder doc, computed independently with ε = 1 ms (all rates
			// here are ≤ 100 Hz): T = ⌈(D − ε)·R⌉ with D = n/fps, and output i shows the
			// latest k with k/fps ≤ i/R + ε.
			const eps = 1e-3
			dur := float64(c.src.n) / c.src.rate
			wantN := int(math.Ceil((dur - eps) * c.rate))
			if n != wantN {
				t.Fatalf("got %d frames, want ⌈(%v s − ε)·%v Hz⌉ = %d", n, dur, c.rate, wantN)
			}
			info, err := Probe(context.Background(), c.src.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := info.OutputFrames(c.rate); got != n {
				t.Errorf("Info.OutputFrames(%v) = %d, decoder gave %d", c.rate, got, n)
			}
			var got, want []int
			for i := range n {
				// Round to the nearest index: lossless sources are exact; the ±2 of a
				// lavfi source is far below half a step.
				v := float64(frames[i*p.FrameBytes()])
				got = append(got, int(math.Round(v/float64(c.src.step))))
				want = append(want, min(c.src.n-1, int(math.Floor((float64(i)/c.rate+eps)*c.src.rate))))
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("source frame per output frame:\n got %v\nwant %v", got, want)
			}
		})
	}
}

// TestDecodeAreaDownscale shrinks a checkerboard of 1-pixel squares by 2: area
// averaging gives every target pixel the mean of a 2×2 block, i.e. the mean grey.
// Point-like sampling (swscale's fast_bilinear) is off by 5 and fails; swscale's
// bilinear widens its kernel when shrinking and would pass too at this exact ratio.
func TestDecodeAreaDownscale(t *testing.T) {
	requireFFmpeg(t)
	path := tempPath(t, "checker.mp4")
	const lo, hi = 40, 200
	encodeVideo(t, path, 128, 72, 30, 3, func(_ int, f []byte) {
		for y := range 72 {
			for x := range 128 {
				f[y*128+x] = lo + (hi-lo)*byte((x+y)%2)
			}
		}
	})
	p := Params{Width: 64, Height: 36, RateHz: 30}
	frames, n := readAll(t, path, p)
	if n != 3 {
		t.Fatalf("got %d frames, want 3", n)
	}
	const mean = (lo + hi) / 2
	for i, v := range frames {
		// ±2: the source is lossless, so only swscale's fixed-point rounding remains.
		if d := int(v) - mean; d < -2 || d > 2 {
			t.Fatalf("pixel (%d,%d) of frame %d = %d, want %d ± 2",
				i%p.FrameBytes()%64, i%p.FrameBytes()/64, i/p.FrameBytes(), v, mean)
		}
	}
}

// TestDecodeBadInput checks that every kind of bad file fails Probe and ReadAll with one
// line that names the file and the expected sentinel.
func TestDecodeBadInput(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	good := dir + "/good.mp4"
	encodeVideo(t, good, 64, 36, 30, 30, func(k int, f []byte) { flat(byte(k))(k, f) })
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	// A 4:2:0 clip with its index first (faststart), so that a cut in the middle leaves
	// a readable head: the case a player would silently shorten.
	faststart := dir + "/faststart.mp4"
	ffmpegLavfi(t, faststart, "testsrc2=s=160x90:r=30:d=2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart")
	fsBytes, err := os.ReadFile(faststart)
	if err != nil {
		t.Fatal(err)
	}
	audioOnly := dir + "/audio.mp4"
	ffmpegLavfi(t, audioOnly, "anullsrc=r=8000:cl=mono", "-t", "1", "-c:a", "aac")

	cases := []struct {
		name      string
		setup     func(path string)
		probeErr  error // sentinel Probe must wrap
		decodeErr error // sentinel ReadAll must wrap
	}{
		{"missing", func(string) {}, fs.ErrNotExist, fs.ErrNotExist},
		{"text", func(p string) { writeFile(t, p, []byte("this is not a video\n")) }, ErrNotVideo, ErrNotVideo},
		{"hdf5", func(p string) { writeFile(t, p, append([]byte("\x89HDF\r\n\x1a\n"), make([]byte, 2048)...)) }, ErrNotVideo, ErrNotVideo},
		{"empty", func(p string) { writeFile(t, p, nil) }, ErrNotVideo, ErrNotVideo},
		{"directory", func(p string) { _ = os.Mkdir(p, 0o755) }, ErrNotVideo, ErrNotVideo},
		{"audio only", func(p string) { writeFile(t, p, mustRead(t, audioOnly)) }, ErrNotVideo, ErrNotVideo},
		{"truncated index", func(p string) { writeFile(t, p, goodBytes[:len(goodBytes)-100]) }, ErrNotVideo, ErrNotVideo},
		{"truncated half", func(p string) { writeFile(t, p, goodBytes[:len(goodBytes)/2]) }, ErrNotVideo, ErrNotVideo},
		{"truncated data", func(p string) { writeFile(t, p, fsBytes[:len(fsBytes)/2]) }, ErrDamaged, ErrDamaged},
	}
	p := Params{Width: 32, Height: 18, RateHz: 30}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := fmt.Sprintf("%s/%s.mp4", dir, strings.ReplaceAll(c.name, " ", "_"))
			c.setup(path)
			_, perr := Probe(context.Background(), path)
			_, _, derr := ReadAll(context.Background(), path, p)
			for _, r := range []struct {
				op        string
				err, want error
			}{{"Probe", perr, c.probeErr}, {"ReadAll", derr, c.decodeErr}} {
				switch {
				case r.err == nil:
					t.Errorf("%s: no error", r.op)
				case !errors.Is(r.err, r.want):
					t.Errorf("%s: %v, want it to wrap %q", r.op, r.err, r.want)
				case !strings.Contains(r.err.Error(), path):
					t.Errorf("%s: %q does not name the file", r.op, r.err)
				case strings.Contains(r.err.Error(), "\n"):
					t.Errorf("%s: error spans lines: %q", r.op, r.err)
				}
			}
		})
	}
	t.Run("good file probes", func(t *testing.T) {
		info, err := Probe(context.Background(), good)
		if err != nil {
			t.Fatal(err)
		}
		want := Info{Width: 64, Height: 36, RateHz: 30, Duration: time.Second, Frames: 30, Codec: "h264"}
		if info != want {
			t.Errorf("Probe = %+v, want %+v", info, want)
		}
	})
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestDecodeParams checks that invalid targets and frame buffers are refused.
func TestDecodeParams(t *testing.T) {
	requireFFmpeg(t)
	path := tempPath(t, "a.mp4")
	encodeVideo(t, path, 16, 8, 30, 2, flat(9))
	for _, p := range []Params{{0, 8, 30}, {16, -1, 30}, {16, 8, 0}, {16, 8, math.NaN()}, {16, 8, math.Inf(1)}, {maxSide + 1, 8, 30}} {
		if _, err := Open(context.Background(), path, p); err == nil {
			t.Errorf("Open with %+v: no error", p)
		}
	}
	d, err := Open(context.Background(), path, Params{16, 8, 30})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Next(make([]byte, 16*8-1)); err == nil {
		t.Error("Next with a short buffer: no error")
	}
	// A wrong buffer is the caller's mistake, not the stream's: the decoder goes on.
	frame := make([]byte, 16*8)
	for i := range 2 {
		if err := d.Next(frame); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if err := d.Next(frame); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
	if err := d.Next(frame); err != io.EOF {
		t.Fatalf("after io.EOF: %v, want io.EOF again", err)
	}
}

// TestDecodeStop checks that cancelling the context and closing early both end ffmpeg
// and leave no goroutine behind. Not parallel: it counts goroutines.
func TestDecodeStop(t *testing.T) {
	requireFFmpeg(t)
	path := tempPath(t, "long.mp4")
	// 300 frames of 64×36 (675 KB raw) overfill the 64 KB pipe, so ffmpeg is blocked in a
	// write, mid-video, when the test stops it.
	encodeVideo(t, path, 64, 36, 30, 300, func(k int, f []byte) { flat(byte(k))(k, f) })
	p := Params{Width: 64, Height: 36, RateHz: 30}
	for _, cancelFirst := range []bool{true, false} {
		name := map[bool]string{true: "cancel", false: "close early"}[cancelFirst]
		t.Run(name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			d, err := Open(ctx, path, p)
			if err != nil {
				t.Fatal(err)
			}
			frame := make([]byte, p.FrameBytes())
			if err := d.Next(frame); err != nil {
				t.Fatal(err)
			}
			if cancelFirst {
				cancel()
				// Frames already in the pipe may still arrive; then the error must come.
				for i := 0; err == nil; i++ {
					if i > 300 {
						t.Fatal("frames keep coming after cancel")
					}
					err = d.Next(frame)
				}
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Next after cancel: %v, want context.Canceled", err)
				}
			}
			if err := d.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if d.cmd.ProcessState == nil {
				t.Fatal("ffmpeg not reaped after Close")
			}
			if d.cmd.ProcessState.Success() {
				t.Error("ffmpeg ran to the end; want it stopped mid-video")
			}
			// exec's helper goroutines end with Wait; allow the scheduler a moment.
			deadline := time.Now().Add(2 * time.Second)
			for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if g := runtime.NumGoroutine(); g > before {
				t.Errorf("%d goroutines after Close, %d before Open", g, before)
			}
			if err := d.Next(frame); err == nil {
				t.Error("Next after Close: no error")
			}
		})
	}
}
