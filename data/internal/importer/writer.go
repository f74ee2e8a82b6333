package importer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/data/h5"
	"github.com/fmcore/fmcore/data/video"
)

// VideoDir is the folder, relative to the output folder, that holds the imported videos,
// one mp4 per distinct video named by its content hash, shared by every recording
// written to the same output folder.
const VideoDir = "videos"

// The trial parameters that record how video values became bytes:
// value = video_offset + video_scale·byte.
const (
	ParamVideoOffset = "video_offset"
	ParamVideoScale  = "video_scale"
)

// RecordingPath returns the path of the recording of session s in the output folder
// out: <mouse>-<session>.h5.
func RecordingPath(out string, s data.SessionID) string {
	return filepath.Join(out, s.String()+".h5")
}

// Counts says what a Writer wrote.
type Counts struct {
	Trials    map[data.Tier]int // trials written per tier
	Frames    map[data.Tier]int // frames written per tier
	Stimuli   int               // distinct stimuli
	Repeated  int               // stimuli shown in more than one trial
	MinRepeat int               // fewest trials of a repeated stimulus (0 when none)
	MaxRepeat int               // most trials of one stimulus
	Videos    int               // distinct mp4 files referenced
	NewVideos int               // of which this Writer encoded (the rest existed already)
}

// Writer writes one imported recording and the videos its trials reference. Use it as
//
//	w, err := importer.Create(src, out, rec)
//	defer w.Abort()
//	for each trial { name, err := w.Video(frames, T, H, W); ...; err = w.WriteTrial(&tr) }
//	counts, err := w.Close()
//
// A Writer is not safe for concurrent use.
type Writer struct {
	src     string // the source folder, named in errors
	out     string
	rateHz  float64
	rec     *h5.Writer
	created []string        // mp4 files this Writer encoded, removed by Abort
	known   map[string]bool // video names referenced so far
	repeats map[string]int  // stimulus → trials
	counts  Counts
	hash    [sha256.Size]byte
	closed  bool // Close succeeded
}

// Create makes the folder out/videos and starts the recording of rec's session, rate and
// units at RecordingPath(out, rec.Session); rec.Trials is ignored. src, the source folder, names the import in
// errors: "import <src>: ...". out must exist.
func Create(src, out string, rec data.Recording) (*Writer, error) {
	if err := os.MkdirAll(filepath.Join(out, VideoDir), 0o755); err != nil {
		return nil, fmt.Errorf("import %s: %w", src, err)
	}
	r, err := h5.Create(RecordingPath(out, rec.Session), rec)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", src, err)
	}
	return &Writer{
		src: src, out: out, rateHz: rec.RateHz, rec: r,
		known: map[string]bool{}, repeats: map[string]int{},
		counts: Counts{Trials: map[data.Tier]int{}, Frames: map[data.Tier]int{}},
	}, nil
}

// Video names frames [T,H,W] (uint8, row-major) by their content hash and encodes them
// to out/videos/<name>.mp4 at the recording's rate, unless this Writer referenced that
// name before or the file exists already. It returns the name: 16 hex digits, the first
// 8 bytes of the SHA-256 of W, H, T (uint32 little-endian) and the frames.
func (w *Writer) Video(frames []byte, T, H, W int) (string, error) {
	frames = frames[:T*H*W]
	h := sha256.New()
	var dims [12]byte
	binary.LittleEndian.PutUint32(dims[0:], uint32(W))
	binary.LittleEndian.PutUint32(dims[4:], uint32(H))
	binary.LittleEndian.PutUint32(dims[8:], uint32(T))
	h.Write(dims[:])
	h.Write(frames)
	h.Sum(w.hash[:0])
	name := hex.EncodeToString(w.hash[:8])
	if w.known[name] {
		return name, nil
	}
	w.known[name] = true
	w.counts.Videos++
	path := filepath.Join(w.out, VideoDir, name+".mp4")
	if _, err := os.Stat(path); err == nil {
		return name, nil
	}
	enc, err := video.Create(path, W, H, w.rateHz)
	if err != nil {
		return "", fmt.Errorf("import %s: %w", w.src, err)
	}
	for t := range T {
		if err := enc.WriteFrame(frames[t*H*W : (t+1)*H*W]); err != nil {
			enc.Abort()
			return "", fmt.Errorf("import %s: %w", w.src, err)
		}
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("import %s: %w", w.src, err)
	}
	w.created = append(w.created, path)
	w.counts.NewVideos++
	return name, nil
}

// WriteTrial writes t to the recording (its Video should name a file from Video) and
// counts it under its tier and its stimulus.
func (w *Writer) WriteTrial(t *data.Trial) error {
	if err := w.rec.WriteTrial(t); err != nil {
		return fmt.Errorf("import %s: %w", w.src, err)
	}
	w.counts.Trials[t.Tier]++
	w.counts.Frames[t.Tier] += t.Frames
	w.repeats[t.Stimulus]++
	return nil
}

// Close finishes the recording, which then appears under its final name, and returns
// what was written. On error it removes the videos it encoded, as Abort does.
func (w *Writer) Close() (Counts, error) {
	if err := w.rec.Close(); err != nil {
		w.Abort()
		return Counts{}, fmt.Errorf("import %s: %w", w.src, err)
	}
	w.closed = true
	c := &w.counts
	c.Stimuli = len(w.repeats)
	for _, n := range w.repeats {
		c.MaxRepeat = max(c.MaxRepeat, n)
		if n > 1 {
			c.Repeated++
			if c.MinRepeat == 0 || n < c.MinRepeat {
				c.MinRepeat = n
			}
		}
	}
	return *c, nil
}

// Abort discards the recording and removes the videos this Writer encoded; videos that
// were in out/videos before stay. It is a no-op after a successful Close, so it can be
// deferred.
func (w *Writer) Abort() {
	if w.closed {
		return
	}
	w.rec.Abort()
	for _, p := range w.created {
		os.Remove(p)
	}
	w.created = nil
}

// NotImported formats the source entries an import leaves unread for a summary:
// counts is keyed by a file's path (relative to the source folder, slash-separated) or
// by a folder's path ending in "/", with the number of files each stands for. Files
// appear as their path, folders as "path/ (n files)", sorted.
func NotImported(counts map[string]int) []string {
	out := make([]string, 0, len(counts))
	for k, n := range counts {
		if strings.HasSuffix(k, "/") {
			k = fmt.Sprintf("%s (%d files)", k, n)
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
