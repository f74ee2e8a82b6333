package video

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"time"

	ffmpeg "github.com/u2takey/ffmpeg-go"
)

// Decoder streams the frames of one video through an ffmpeg process, resampled to a
// Params target, in constant memory whatever the video's length.
//
// Timing rule: let t_k be the presentation time of source frame k minus that of the first
// frame. Output frame i is the latest source frame k with t_k ≤ i/RateHz + ε, that is the
// frame on screen at time i/RateHz (sample-and-hold, MODEL.md 7.1). ε = min(1 ms,
// 0.1/RateHz) absorbs timestamps rounded to a time base: by the container (mkv rounds to
// milliseconds, so frame 2 of a 30 fps clip sits at 67 ms instead of 66.67 ms) and by the
// filter chain (times are rounded to microseconds, so frame 1 of a 60 fps clip sits at
// 16.667 ms, after the 60 Hz output time 16.6667 ms). A 60 fps
// source at 30 Hz gives source frames 0, 2, 4, …; a 15 fps source at 30 Hz gives
// 0, 0, 1, 1, 2, 2, ….
//
// Frame count: output times i/RateHz are taken while they fall before the end of the last
// source frame D (its time plus its duration), minus ε: ⌈(D − ε)·RateHz⌉ frames, which
// Info.OutputFrames computes from a probe. A 1 s clip at 30 Hz gives 30 frames at any
// source rate.
//
// Damage is an error, not a shorter clip: ffmpeg runs with -xerror, so a truncated or
// corrupt stream fails Next after the frames decoded before the damage.
//
// A Decoder is not safe for concurrent use. Always Close it, also after an error: Close
// kills and reaps ffmpeg.
type Decoder struct {
	path   string
	p      Params
	ctx    context.Context
	cmd    *exec.Cmd
	out    io.ReadCloser // ffmpeg's stdout: raw gray frames back to back
	stderr *tailBuffer   // the end of ffmpeg's log, for error messages
	n      int           // frames returned so far
	err    error         // sticky: io.EOF at the end, or the first failure

	waited  bool
	waitErr error
}

// errClosed is returned by Next after Close.
var errClosed = errors.New("decoder is closed")

// Open starts decoding the video at path to p. Missing, empty and unreadable files fail
// here with a one-line error naming the file; a file ffmpeg cannot decode fails at the
// first Next (ErrNotVideo). Cancelling ctx kills ffmpeg; Next then returns ctx's error.
func Open(ctx context.Context, path string, p Params) (*Decoder, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("decode video %s: %w", path, err)
	}
	if err := checkFile(path); err != nil {
		return nil, err
	}
	quiet()
	stderr := newTailBuffer(4096)
	cmd := decodeStream(ctx, inputURL(path), p).WithErrorOutput(stderr).Compile()
	// Bound how long Wait may block on ffmpeg's stderr after a kill.
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("decode video %s: %w", path, err)
	}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("decode video %s: %w", path, ErrNoFFmpeg)
		}
		return nil, fmt.Errorf("decode video %s: start ffmpeg: %w", path, err)
	}
	return &Decoder{path: path, p: p, ctx: ctx, cmd: cmd, out: out, stderr: stderr}, nil
}

// decodeStream builds the ffmpeg command that writes url's first video stream to stdout
// as raw gray frames of p:
//
//	settb=AVTB                     microsecond time base, so ε is not lost to rounding
//	setpts=PTS-STARTPTS-ε          time from the first frame, shifted earlier by ε
//	fps=fps=R:round=up             output i takes the latest frame with ⌈t·R⌉ ≤ i, i.e. t ≤ i/R
//	format=gray                    luma only (full range, see the package doc)
//	scale=min(iw,W):min(ih,H):area shrink by area averaging (a no-op when nothing shrinks)
//	scale=W:H:bicubic              enlarge what is still too small (a no-op otherwise)
//
// The fps filter keeps the newest frame whose rounded time is at most the output slot,
// so rounding up is exactly "on screen at i/R". Its end-of-stream rule rounds the end
// time D the same way, which gives ⌈(D − ε)·R⌉ frames.
func decodeStream(ctx context.Context, url string, p Params) *ffmpeg.Stream {
	epsUS := int64(epsilon(p.RateHz) * 1e6)
	// -xerror: a decode error anywhere fails the decode. Without it ffmpeg skips the
	// damaged part and exits 0, so a truncated mp4 whose index survives would come out as
	// a silently shorter clip.
	in := ffmpeg.Input(url, ffmpeg.KwArgs{"v": "error", "xerror": "", "nostdin": "", "hide_banner": ""})
	s := in.Get("v:0").
		Filter("settb", ffmpeg.Args{"AVTB"}).
		Filter("setpts", ffmpeg.Args{fmt.Sprintf("PTS-STARTPTS-%d", epsUS)}).
		Filter("fps", nil, ffmpeg.KwArgs{"fps": rateString(p.RateHz), "round": "up"}).
		Filter("format", ffmpeg.Args{"gray"}).
		Filter("scale", nil, ffmpeg.KwArgs{
			"w":     fmt.Sprintf("min(iw,%d)", p.Width),
			"h":     fmt.Sprintf("min(ih,%d)", p.Height),
			"flags": "area",
		}).
		Filter("scale", nil, ffmpeg.KwArgs{
			"w":     fmt.Sprint(p.Width),
			"h":     fmt.Sprint(p.Height),
			"flags": "bicubic",
		})
	// fps_mode passthrough: the fps filter has already fixed the frame times; the muxer
	// must neither duplicate nor drop frames.
	return ffmpeg.OutputContext(ctx, []*ffmpeg.Stream{s}, "pipe:", ffmpeg.KwArgs{
		"format": "rawvideo", "pix_fmt": "gray", "fps_mode": "passthrough",
	})
}

// epsilon returns ε in seconds at output rate r (see Decoder).
func epsilon(r float64) float64 { return min(1e-3, 0.1/r) }

// Params returns the decode target.
func (d *Decoder) Params() Params { return d.p }

// Next fills frame, which must hold exactly W·H bytes, with the next output frame
// ([H,W] row-major). It returns io.EOF after the last frame, ErrNoFrames (wrapped) when
// the video yields none, a wrapped ErrNotVideo when ffmpeg fails before the first frame
// and a wrapped ErrDamaged when it fails later. After the first error every call returns the same error.
func (d *Decoder) Next(frame []byte) error {
	if d.err != nil {
		return d.err
	}
	if len(frame) != d.p.FrameBytes() {
		return fmt.Errorf("decode video %s: frame buffer holds %d bytes, want W·H = %d·%d = %d",
			d.path, len(frame), d.p.Width, d.p.Height, d.p.FrameBytes())
	}
	_, err := io.ReadFull(d.out, frame)
	if err == nil {
		d.n++
		return nil
	}
	// The pipe ended or broke: reap ffmpeg, then say why.
	werr := d.wait()
	switch {
	case d.ctx.Err() != nil:
		d.err = fmt.Errorf("decode video %s: stopped after %d frames: %w", d.path, d.n, d.ctx.Err())
	case werr != nil && d.n == 0:
		d.err = fmt.Errorf("decode video %s: %w (ffmpeg: %s)", d.path, ErrNotVideo, d.reason(werr))
	case werr != nil:
		d.err = fmt.Errorf("decode video %s: %w after %d frames (ffmpeg: %s); copy or re-encode it",
			d.path, ErrDamaged, d.n, d.reason(werr))
	case errors.Is(err, io.ErrUnexpectedEOF):
		d.err = fmt.Errorf("decode video %s: output ended inside frame %d", d.path, d.n)
	case !errors.Is(err, io.EOF):
		d.err = fmt.Errorf("decode video %s: read ffmpeg output: %w", d.path, err)
	case d.n == 0:
		d.err = fmt.Errorf("decode video %s: %w", d.path, ErrNoFrames)
	default:
		d.err = io.EOF
	}
	return d.err
}

// reason returns ffmpeg's last log line, or the exit status when it logged nothing.
func (d *Decoder) reason(werr error) string {
	if l := d.stderr.lastLine(inputURL(d.path)); l != "" {
		return l
	}
	return werr.Error()
}

// Close stops ffmpeg if it is still running and waits for it to exit, so that neither
// the process nor exec's helper goroutines outlive the Decoder. Closing early is not an
// error; Close is idempotent.
func (d *Decoder) Close() error {
	if !d.waited {
		// Kill fails only when the process has already exited; Wait reaps it either way.
		_ = d.cmd.Process.Kill()
		_ = d.wait()
	}
	if d.err == nil {
		d.err = fmt.Errorf("decode video %s: %w", d.path, errClosed)
	}
	return nil
}

// wait reaps ffmpeg once and remembers the result.
func (d *Decoder) wait() error {
	if !d.waited {
		d.waited = true
		d.waitErr = d.cmd.Wait()
	}
	return d.waitErr
}

// ReadAll decodes every frame of the video at path to p and returns them back to back
// ([T,H,W] row-major) with T. Memory grows with the video; use Decoder or Cache.Open to
// stream long videos.
func ReadAll(ctx context.Context, path string, p Params) (frames []byte, n int, err error) {
	d, err := Open(ctx, path, p)
	if err != nil {
		return nil, 0, err
	}
	defer d.Close()
	fb := p.FrameBytes()
	for {
		frames = slices.Grow(frames, fb)
		err := d.Next(frames[len(frames) : len(frames)+fb])
		if errors.Is(err, io.EOF) {
			return frames, n, nil
		}
		if err != nil {
			return nil, 0, err
		}
		frames = frames[:len(frames)+fb]
		n++
	}
}
