package video

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// requireFFmpeg skips the test when the ffmpeg binaries are missing, so that the rest of
// the module's tests still run on a machine without them.
func requireFFmpeg(tb testing.TB) {
	tb.Helper()
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(bin); err != nil {
			tb.Skipf("%s not on $PATH: %v", bin, err)
		}
	}
}

// encodeVideo writes n frames of w×h at rate to path with Encoder; fill sets frame k.
func encodeVideo(tb testing.TB, path string, w, h int, rate float64, n int, fill func(k int, frame []byte)) {
	tb.Helper()
	e, err := Create(path, w, h, rate)
	if err != nil {
		tb.Fatal(err)
	}
	frame := make([]byte, w*h)
	for k := range n {
		fill(k, frame)
		if err := e.WriteFrame(frame); err != nil {
			e.Abort()
			tb.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		tb.Fatal(err)
	}
}

// flat returns a fill function that sets every pixel of every frame to v.
func flat(v byte) func(int, []byte) {
	return func(_ int, f []byte) {
		for i := range f {
			f[i] = v
		}
	}
}

// ffmpegLavfi runs ffmpeg with a lavfi source graph and output arguments, writing path.
// It makes videos the way other tools do (4:2:0, limited range), unlike Encoder.
func ffmpegLavfi(tb testing.TB, path, graph string, out ...string) {
	tb.Helper()
	args := append([]string{"-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", graph}, out...)
	args = append(args, path)
	if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		tb.Fatalf("ffmpeg %v: %v\n%s", args, err, b)
	}
}

// readAll decodes path to p or fails the test.
func readAll(tb testing.TB, path string, p Params) ([]byte, int) {
	tb.Helper()
	frames, n, err := ReadAll(context.Background(), path, p)
	if err != nil {
		tb.Fatal(err)
	}
	if len(frames) != n*p.FrameBytes() {
		tb.Fatalf("ReadAll returned %d bytes for %d frames of %d bytes", len(frames), n, p.FrameBytes())
	}
	return frames, n
}

// tempPath returns name inside a fresh temporary folder.
func tempPath(tb testing.TB, name string) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), name)
}

// writeFile writes b to path or fails the test.
func writeFile(tb testing.TB, path string, b []byte) {
	tb.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}
