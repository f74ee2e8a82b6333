package video

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"

	ffmpeg "github.com/u2takey/ffmpeg-go"
)

// Params is a decode target: the output frame size in pixels and the output frame rate.
// Every field is required; Validate says what is wrong.
type Params struct {
	Width  int     // W, output frame width in pixels
	Height int     // H, output frame height in pixels
	RateHz float64 // output frames per second
}

// Limits of Params, chosen far above any stimulus fmcore handles (144×256 at 30 Hz in
// the paper) but low enough that W·H fits an int on every platform and that the timing
// epsilon of Decoder stays meaningful.
const (
	maxSide = 16384
	maxRate = 1000
)

// FrameBytes returns W·H, the size of one output frame in bytes.
func (p Params) FrameBytes() int { return p.Width * p.Height }

// Validate reports the first invalid field of p, or nil.
func (p Params) Validate() error {
	switch {
	case p.Width <= 0 || p.Width > maxSide:
		return fmt.Errorf("video params: width %d, want 1…%d pixels", p.Width, maxSide)
	case p.Height <= 0 || p.Height > maxSide:
		return fmt.Errorf("video params: height %d, want 1…%d pixels", p.Height, maxSide)
	case !(p.RateHz > 0 && p.RateHz <= maxRate): // also rejects NaN
		return fmt.Errorf("video params: rate %v Hz, want a frame rate in (0, %d]", p.RateHz, maxRate)
	}
	return nil
}

// Errors the package reports; test with errors.Is. Missing files wrap fs.ErrNotExist.
var (
	// ErrNotVideo means a file has no decodable video stream (a text or HDF5 file, an
	// empty or truncated mp4).
	ErrNotVideo = errors.New("not a video")
	// ErrDamaged means a video's data is cut off or corrupt after a readable start.
	ErrDamaged = errors.New("damaged video (truncated or corrupt)")
	// ErrNoFrames means a video stream decodes to zero frames.
	ErrNoFrames = errors.New("video has no frames")
	// ErrNoFFmpeg means the ffmpeg or ffprobe binary is not on $PATH.
	ErrNoFFmpeg = errors.New("ffmpeg not found on $PATH (install it, e.g. apt-get install ffmpeg)")
)

// quietOnce guards the one write to ffmpeg-go's package-level LogCompiledCommand, which
// otherwise logs every command line through the standard logger. Stream.Silent(true) sets
// the same global, so it is process state, not per-call state (TOOLCHAIN.md section 5);
// setting it once, before the first command is compiled, also keeps the write from racing
// with the reads in Compile.
var quietOnce sync.Once

// quiet turns off ffmpeg-go's command logging for this process.
func quiet() {
	quietOnce.Do(func() { ffmpeg.LogCompiledCommand = false })
}

// checkFile returns a one-line error naming path when it cannot be a video: missing, a
// directory, unreadable or empty. The error wraps the fs error, so errors.Is(err,
// fs.ErrNotExist) works.
func checkFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("video %s: %w (check the path)", path, os.ErrNotExist)
		}
		return fmt.Errorf("video %s: %w", path, err)
	}
	if st.IsDir() {
		return fmt.Errorf("video %s: is a directory, want a video file: %w", path, ErrNotVideo)
	}
	if st.Size() == 0 {
		return fmt.Errorf("video %s: empty file (0 bytes): %w", path, ErrNotVideo)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("video %s: %w", path, err)
	}
	return f.Close()
}

// tailBuffer is an io.Writer that keeps the last max bytes written: ffmpeg's stderr is
// only read for its last error line, and a long decode must not grow memory.
type tailBuffer struct {
	mu  sync.Mutex // the exec package copies stderr from its own goroutine
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

// Write keeps the newest bytes of p and of what came before, at most max in all.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if drop := len(t.buf) + len(p) - t.max; drop > 0 {
		t.buf = append(t.buf[:0], t.buf[drop:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// lastLine returns the last non-empty line written, with a leading "path: " removed
// (ffmpeg prefixes errors about its input with the input's name, which the caller's
// error already carries).
func (t *tailBuffer) lastLine(path string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(string(t.buf)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		return strings.TrimPrefix(l, path+": ")
	}
	return ""
}

// rateString formats a frame rate for ffmpeg, which parses a decimal into a rational
// (av_parse_video_rate), so 30 stays exactly 30/1.
func rateString(hz float64) string {
	if hz == math.Trunc(hz) {
		return fmt.Sprintf("%d", int64(hz))
	}
	return fmt.Sprintf("%.9g", hz)
}
