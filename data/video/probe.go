package video

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Info describes the first video stream of a file, as ffprobe reports it.
type Info struct {
	Width, Height int           // source frame size in pixels
	RateHz        float64       // average frame rate; the nominal rate when the average is unknown
	Duration      time.Duration // stream duration; the container's when the stream has none
	Frames        int           // number of video packets, one per frame (counted by demuxing, not decoding)
	Codec         string        // ffmpeg codec name, e.g. "h264"
}

// OutputFrames returns the number of frames Decoder yields for this video at rateHz:
// ⌈(Duration − ε)·rateHz⌉, the count of output times i/rateHz (i ≥ 0) that fall before the
// end of the last source frame, with the same ε as Decoder. It matches the decoder
// exactly when the container records frame durations exactly (mp4 files from Encoder
// do); for containers that round timestamps (mkv: milliseconds) it can differ by one
// when Duration·rateHz is within a millisecond of an integer.
//
// It returns 0 when the duration is unknown (Duration 0).
func (in Info) OutputFrames(rateHz float64) int {
	if in.Duration <= 0 {
		return 0
	}
	d := in.Duration.Seconds() - epsilon(rateHz)
	if d <= 0 {
		return 1 // the first frame is always shown
	}
	return int(math.Ceil(d * rateHz))
}

// ffprobeOutput is the part of ffprobe's JSON output that Probe reads. ffprobe writes
// numbers that may be missing or "N/A" as strings.
type ffprobeOutput struct {
	Streams []struct {
		CodecName     string `json:"codec_name"`
		Width         int    `json:"width"`
		Height        int    `json:"height"`
		RFrameRate    string `json:"r_frame_rate"`
		AvgFrameRate  string `json:"avg_frame_rate"`
		Duration      string `json:"duration"`
		NbFrames      string `json:"nb_frames"`
		NbReadPackets string `json:"nb_read_packets"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
}

// Probe reads the header of the video at path with ffprobe and counts its frames by
// demuxing (no decoding; a few milliseconds for a stimulus clip). It fails with a
// one-line error naming the file when the file is missing, unreadable, not a video or
// cut off before its index (ErrNotVideo), truncated after it (ErrDamaged), or has no frames
// (ErrNoFrames).
//
// ffprobe runs through exec.CommandContext rather than ffmpeg-go's Probe, which takes no
// context; cancelling ctx kills it.
func Probe(ctx context.Context, path string) (Info, error) {
	if err := checkFile(path); err != nil {
		return Info{}, err
	}
	cmd := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-hide_banner",
		"-select_streams", "v:0", "-count_packets",
		"-show_entries", "stream=codec_name,width,height,r_frame_rate,avg_frame_rate,duration,nb_frames,nb_read_packets:format=format_name,duration",
		"-of", "json", "-i", inputURL(path))
	var stdout bytes.Buffer
	stderr := newTailBuffer(4096)
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return Info{}, fmt.Errorf("probe video %s: %w", path, ctx.Err())
		}
		if errors.Is(err, exec.ErrNotFound) {
			return Info{}, fmt.Errorf("probe video %s: %w", path, ErrNoFFmpeg)
		}
		return Info{}, fmt.Errorf("probe video %s: %w (ffprobe: %s)", path, ErrNotVideo, stderr.lastLine(inputURL(path)))
	}
	var out ffprobeOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return Info{}, fmt.Errorf("probe video %s: read ffprobe output: %w", path, err)
	}
	if len(out.Streams) == 0 {
		format := out.Format.FormatName
		if format == "" {
			format = "unknown"
		}
		return Info{}, fmt.Errorf("probe video %s: no video stream in a %s file: %w", path, format, ErrNotVideo)
	}
	s := out.Streams[0]
	if s.Width <= 0 || s.Height <= 0 {
		return Info{}, fmt.Errorf("probe video %s: video stream has size %d×%d: %w", path, s.Width, s.Height, ErrNotVideo)
	}
	info := Info{Width: s.Width, Height: s.Height, Codec: s.CodecName}
	if info.RateHz = parseRational(s.AvgFrameRate); info.RateHz == 0 {
		info.RateHz = parseRational(s.RFrameRate)
	}
	dur, ok := parseSeconds(s.Duration)
	if !ok {
		dur, _ = parseSeconds(out.Format.Duration)
	}
	info.Duration = time.Duration(math.Round(dur * float64(time.Second)))
	n, err := strconv.Atoi(s.NbReadPackets)
	if err != nil {
		return Info{}, fmt.Errorf("probe video %s: ffprobe frame count %q: %w", path, s.NbReadPackets, ErrNotVideo)
	}
	if n == 0 {
		return Info{}, fmt.Errorf("probe video %s: %w", path, ErrNoFrames)
	}
	// mp4 indexes every frame up front; fewer packets than indexed frames means the data
	// was cut off (an interrupted copy or download) while the index survived.
	if listed, err := strconv.Atoi(s.NbFrames); err == nil && listed > n {
		return Info{}, fmt.Errorf("probe video %s: %w: the index lists %d frames, the file holds %d; copy or re-encode it",
			path, ErrDamaged, listed, n)
	}
	info.Frames = n
	return info, nil
}

// inputURL names a local file for ffmpeg and ffprobe through the file: protocol, so that
// a name with a colon or one starting with "-" is never read as a protocol or an option.
func inputURL(path string) string { return "file:" + path }

// parseRational parses ffprobe's "num/den" rates; it returns 0 for "0/0" and garbage.
func parseRational(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	if !ok {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return 0
		}
		return v
	}
	n, err1 := strconv.ParseFloat(num, 64)
	d, err2 := strconv.ParseFloat(den, 64)
	if err1 != nil || err2 != nil || d == 0 || !(n > 0) {
		return 0
	}
	return n / d
}

// parseSeconds parses ffprobe's decimal seconds; ok is false for "", "N/A" and negatives.
func parseSeconds(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v >= 0) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}
