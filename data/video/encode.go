package video

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	ffmpeg "github.com/u2takey/ffmpeg-go"
)

// Encoder writes grayscale frames to an H.264 mp4 file whose luma is lossless: libx264 at
// -qp 0 in 4:0:0 (gray) tagged full-range, so that decoding at the native size and rate
// returns the written bytes exactly. It writes to a temporary file in the destination's
// folder and renames it into place on Close, so a half-written video never appears under
// the final name, and an existing file of that name stays untouched until Close succeeds.
//
// An Encoder is not safe for concurrent use. Call Close to keep the video or Abort to drop
// it; one of the two must be called.
type Encoder struct {
	path   string // final name
	tmp    string // what ffmpeg writes, renamed to path on Close
	size   int    // W·H
	cmd    *exec.Cmd
	in     io.WriteCloser // ffmpeg's stdin: raw gray frames
	stderr *tailBuffer
	frames int
	done   bool // Close or Abort ran
}

// Create starts an encoder writing width×height frames at rateHz to path (an .mp4 file;
// the container is mp4 whatever the extension). The folder must exist.
func Create(path string, width, height int, rateHz float64) (*Encoder, error) {
	p := Params{Width: width, Height: height, RateHz: rateHz}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("create video %s: %w", path, err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// The temporary name is hidden and unique, so that concurrent writers of the same
	// video and a crashed earlier run never collide.
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("create video %s: %w", path, err)
	}
	tmp := f.Name()
	// CreateTemp makes the file private (0600); a stimulus video is an ordinary file.
	if err := f.Chmod(0o644); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("create video %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("create video %s: %w", path, err)
	}
	quiet()
	stderr := newTailBuffer(4096)
	cmd := ffmpeg.Input("pipe:", ffmpeg.KwArgs{
		"v": "error", "hide_banner": "",
		"f": "rawvideo", "pix_fmt": "gray",
		"s": fmt.Sprintf("%dx%d", width, height), "framerate": rateString(rateHz),
	}).Output(inputURL(tmp), ffmpeg.KwArgs{
		"format": "mp4", "c:v": "libx264", "qp": "0", "preset": "fast",
		"pix_fmt": "gray", "color_range": "pc",
	}).OverWriteOutput().WithErrorOutput(stderr).Compile()
	cmd.WaitDelay = 5 * time.Second
	in, err := cmd.StdinPipe()
	if err != nil {
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("create video %s: %w", path, err)
	}
	if err := cmd.Start(); err != nil {
		_ = os.Remove(tmp)
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("create video %s: %w", path, ErrNoFFmpeg)
		}
		return nil, fmt.Errorf("create video %s: start ffmpeg: %w", path, err)
	}
	return &Encoder{path: path, tmp: tmp, size: width * height, cmd: cmd, in: in, stderr: stderr}, nil
}

// WriteFrame appends one frame of exactly W·H bytes ([H,W] row-major).
func (e *Encoder) WriteFrame(frame []byte) error {
	if e.done {
		return fmt.Errorf("write video %s: encoder is closed", e.path)
	}
	if len(frame) != e.size {
		return fmt.Errorf("write video %s: frame has %d bytes, want W·H = %d", e.path, len(frame), e.size)
	}
	if _, err := e.in.Write(frame); err != nil {
		// ffmpeg has died; its log says why.
		werr := e.cmd.Wait()
		e.drop()
		return fmt.Errorf("write video %s: frame %d: ffmpeg: %s", e.path, e.frames, e.reason(werr, err))
	}
	e.frames++
	return nil
}

// Frames returns the number of frames written so far.
func (e *Encoder) Frames() int { return e.frames }

// Close finishes the video and renames it to its final name. On error nothing appears
// under the final name (an existing file there is left as it was). A video needs at
// least one frame.
func (e *Encoder) Close() error {
	if e.done {
		return fmt.Errorf("close video %s: encoder is already closed", e.path)
	}
	if e.frames == 0 {
		e.Abort()
		return fmt.Errorf("close video %s: no frames written, want at least 1", e.path)
	}
	cerr := e.in.Close()
	werr := e.cmd.Wait()
	if werr != nil || cerr != nil {
		e.drop()
		return fmt.Errorf("close video %s: ffmpeg: %s", e.path, e.reason(werr, cerr))
	}
	e.done = true
	if err := syncFile(e.tmp); err != nil {
		_ = os.Remove(e.tmp)
		return fmt.Errorf("close video %s: %w", e.path, err)
	}
	if err := os.Rename(e.tmp, e.path); err != nil {
		_ = os.Remove(e.tmp)
		return fmt.Errorf("close video %s: %w", e.path, err)
	}
	return nil
}

// Abort stops ffmpeg and deletes the temporary file; the final name is never touched.
// It is safe to call after Close or more than once.
func (e *Encoder) Abort() {
	if e.done {
		return
	}
	_ = e.cmd.Process.Kill() // fails only when ffmpeg has already exited
	_ = e.in.Close()
	_ = e.cmd.Wait()
	e.drop()
}

// drop marks the encoder finished and deletes its temporary file.
func (e *Encoder) drop() {
	e.done = true
	_ = os.Remove(e.tmp)
}

// reason returns ffmpeg's last log line, else the first non-nil error's text.
func (e *Encoder) reason(errs ...error) string {
	if l := e.stderr.lastLine(inputURL(e.tmp)); l != "" {
		return l
	}
	for _, err := range errs {
		if err != nil {
			return err.Error()
		}
	}
	return "unknown error"
}

// syncFile flushes a closed file's data to disk, so that a rename after a crash never
// exposes a name whose content is still missing.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
