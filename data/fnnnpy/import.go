package fnnnpy

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/data/h5"
	"github.com/fmcore/fmcore/data/video"
)

// VideoDir is the folder, relative to the output folder, that holds the imported videos,
// one mp4 per distinct stimulus named by its content hash.
const VideoDir = "videos"

// The trial parameters that record how video values map to bytes (value = video_offset +
// video_scale·byte). fnn stimuli are bytes already: offset 0, scale 1, as for the
// SENSORIUM importer's grey levels.
const (
	ParamVideoOffset = "video_offset"
	ParamVideoScale  = "video_scale"
)

// Summary says what one import wrote and what it left out.
type Summary struct {
	Recording   string // path of the recording written
	Session     data.SessionID
	Units       int
	RateHz      float64
	Trials      map[data.Tier]int // trials written per tier
	Frames      map[data.Tier]int // frames written per tier
	Stimuli     int               // distinct stimuli
	Repeated    int               // stimuli shown in more than one trial
	MinRepeat   int               // fewest trials of a repeated stimulus (0 when none)
	MaxRepeat   int               // most trials of one stimulus
	Videos      int               // distinct mp4 files referenced
	NewVideos   int               // of which this import encoded (the rest existed already)
	NotImported []string          // files and folders of the source not read
}

// importer holds the reusable buffers of one import: at most one trial's arrays.
type importer struct {
	t        *Tree
	out      string
	sum      *Summary
	created  []string          // mp4 files this import encoded, removed on failure
	known    map[string]bool   // video names referenced so far
	repeats  map[string]int    // stimulus → trials
	evalStim map[string]string // video name → evaluation video id, for training trials showing it
	f64      []float64         // float64 → float32 staging
	raw      []byte            // stimulus in file order
	frames   []byte            // [T,H,W]
	src      []float32         // one float array in file order
	mod      []float32         // [T,2] modulations before they split into pupil and running
	trial    data.Trial        // the trial being written, slices reused
	hash     [sha256.Size]byte
}

// Output returns the path of the recording Import writes into out: <mouse>-<session>.h5.
func (t *Tree) Output(out string) string {
	return filepath.Join(out, t.Session.String()+".h5")
}

// Import converts the tree into one recording in out (see Output) plus one lossless mp4
// per distinct stimulus under out/videos, holding one trial in memory at a time.
// Mapping: stimuli → video, perspectives → eye (x, y), modulations → pupil, running,
// units → responses; training true → train, false → validation; evaluation_data → test
// with stimulus = the video id (training trials showing the same frames get that id
// too). progress, if not nil, is called after each trial with the trials done and the
// total. Import stops at the first bad value or when ctx is cancelled; it then leaves no
// recording under the final name and removes the videos it encoded, so a rerun starts
// cleanly. Videos already in out/videos are reused. out must exist.
func (t *Tree) Import(ctx context.Context, out string, progress func(done, total int)) (sum *Summary, err error) {
	U := t.Units
	im := &importer{
		t: t, out: out, known: map[string]bool{}, repeats: map[string]int{}, evalStim: map[string]string{},
		sum: &Summary{
			Recording: t.Output(out), Session: t.Session, Units: U, RateHz: RateHz,
			Trials: map[data.Tier]int{}, Frames: map[data.Tier]int{}, NotImported: t.NotImported,
		},
	}
	if progress == nil {
		progress = func(int, int) {}
	}
	defer func() {
		if err != nil {
			for _, p := range im.created {
				os.Remove(p)
			}
		}
	}()
	units := data.Units{ID: make([]int64, U), Area: make([]string, U)}
	for u := range U {
		units.ID[u], units.Area[u] = int64(u), Area
	}
	if err := os.MkdirAll(filepath.Join(out, VideoDir), 0o755); err != nil {
		return nil, fmt.Errorf("import %s: %w", t.Dir, err)
	}
	w, err := h5.Create(im.sum.Recording, data.Recording{Session: t.Session, RateHz: RateHz, Units: units})
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", t.Dir, err)
	}
	defer w.Abort() // no-op after Close
	for i := range t.Trials {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := im.trial1(&t.Trials[i]); err != nil {
			return nil, err
		}
		if err := w.WriteTrial(&im.trial); err != nil {
			return nil, fmt.Errorf("import %s: %w", t.Dir, err)
		}
		progress(i+1, len(t.Trials))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("import %s: %w", t.Dir, err)
	}
	im.finishSummary()
	return im.sum, nil
}

// trial1 reads one trial's arrays, writes or reuses its video and fills im.trial.
func (im *importer) trial1(tr *Trial) error {
	t := im.t
	T, U := tr.Frames, t.Units
	if err := im.readFrames(t.path(tr, dirStimuli), T); err != nil {
		return err
	}
	name, err := im.storeVideo(T)
	if err != nil {
		return err
	}
	stimulus := name
	var labels map[string]string
	if tr.Video != "" {
		stimulus = tr.Video
		if _, ok := im.evalStim[name]; !ok {
			im.evalStim[name] = tr.Video
		}
		labels = map[string]string{labelVideo: tr.Video, labelRepeat: tr.Repeat}
	} else if v, ok := im.evalStim[name]; ok {
		stimulus = v
	}
	x := &im.trial
	x.TrialInfo = data.TrialInfo{
		ID: tr.ID, Video: VideoDir + "/" + name + ".mp4", Stimulus: stimulus,
		Domain: data.DomainNatural, Tier: tr.Tier, Frames: T,
		Params: map[string]float64{ParamVideoOffset: 0, ParamVideoScale: 1},
		Labels: labels,
	}
	x.Responses = grow(x.Responses, T*U)
	x.Pupil = grow(x.Pupil, T)
	x.Running = grow(x.Running, T)
	x.Eye = grow(x.Eye, 2*T)
	// units [T,U] and perspectives [T,2] are time-first like the recording; modulations
	// [T,2] splits into pupil (column 0) and running (column 1).
	if err := im.readTable(t.path(tr, dirUnits), T, U, x.Responses); err != nil {
		return err
	}
	if err := im.readTable(t.path(tr, dirPerspectives), T, 2, x.Eye); err != nil {
		return err
	}
	im.mod = grow(im.mod, 2*T)
	if err := im.readTable(t.path(tr, dirModulations), T, 2, im.mod); err != nil {
		return err
	}
	for i := range T {
		x.Pupil[i], x.Running[i] = im.mod[2*i], im.mod[2*i+1]
	}
	im.sum.Trials[tr.Tier]++
	im.sum.Frames[tr.Tier] += T
	im.repeats[stimulus]++
	return nil
}

// readFrames reads a stimulus array [T,H,W,1] (or [T,H,W]) into im.frames [T,H,W].
func (im *importer) readFrames(path string, T int) error {
	a, err := openArray(path)
	if err != nil {
		return err
	}
	defer a.close()
	H, W := im.t.Height, im.t.Width
	if a.n != T*H*W || a.shape[0] != T {
		return inputErr(path, "shape %s changed since the import started", a.shapeString())
	}
	im.raw = growBytes(im.raw, a.n)
	if err := a.readBytes(im.raw); err != nil {
		return err
	}
	im.frames = growBytes(im.frames, a.n)
	if !a.fortran {
		copy(im.frames, im.raw)
		return nil
	}
	st := a.strides()
	for t := range T {
		for y := range H {
			for x := range W {
				im.frames[(t*H+y)*W+x] = im.raw[t*st[0]+y*st[1]+x*st[2]]
			}
		}
	}
	return nil
}

// readTable reads a float array [T,K] into dst [T,K] row-major, rejecting ±Inf (NaN
// marks a missing value and is kept).
func (im *importer) readTable(path string, T, K int, dst []float32) error {
	a, err := openArray(path)
	if err != nil {
		return err
	}
	defer a.close()
	if len(a.shape) != 2 || a.shape[0] != T || a.shape[1] != K {
		return inputErr(path, "shape %s changed since the import started", a.shapeString())
	}
	im.src = grow(im.src, a.n)
	if err := a.readFloats(im.src, &im.f64); err != nil {
		return err
	}
	st := a.strides()
	for t := range T {
		for k := range K {
			v := im.src[t*st[0]+k*st[1]]
			if math.IsInf(float64(v), 0) {
				return inputErr(path, "frame %d, column %d is %v: use NaN for a missing value", t, k, v)
			}
			dst[t*K+k] = v
		}
	}
	return nil
}

// storeVideo names the frames by their content hash and encodes them to
// out/videos/<hash>.mp4 unless that file exists already.
func (im *importer) storeVideo(T int) (string, error) {
	H, W := im.t.Height, im.t.Width
	h := sha256.New()
	var dims [12]byte
	binary.LittleEndian.PutUint32(dims[0:], uint32(W))
	binary.LittleEndian.PutUint32(dims[4:], uint32(H))
	binary.LittleEndian.PutUint32(dims[8:], uint32(T))
	h.Write(dims[:])
	h.Write(im.frames[:T*H*W])
	h.Sum(im.hash[:0])
	name := hex.EncodeToString(im.hash[:8])
	if im.known[name] {
		return name, nil
	}
	im.known[name] = true
	im.sum.Videos++
	path := filepath.Join(im.out, VideoDir, name+".mp4")
	if _, err := os.Stat(path); err == nil {
		return name, nil
	}
	enc, err := video.Create(path, W, H, RateHz)
	if err != nil {
		return "", fmt.Errorf("import %s: %w", im.t.Dir, err)
	}
	for t := range T {
		if err := enc.WriteFrame(im.frames[t*H*W : (t+1)*H*W]); err != nil {
			enc.Abort()
			return "", fmt.Errorf("import %s: %w", im.t.Dir, err)
		}
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("import %s: %w", im.t.Dir, err)
	}
	im.created = append(im.created, path)
	im.sum.NewVideos++
	return name, nil
}

// finishSummary counts the stimuli and their repeats.
func (im *importer) finishSummary() {
	s := im.sum
	s.Stimuli = len(im.repeats)
	for _, n := range im.repeats {
		s.MaxRepeat = max(s.MaxRepeat, n)
		if n > 1 {
			s.Repeated++
			if s.MinRepeat == 0 || n < s.MinRepeat {
				s.MinRepeat = n
			}
		}
	}
}

func grow(xs []float32, n int) []float32 {
	if cap(xs) < n {
		return make([]float32, n)
	}
	return xs[:n]
}

func growBytes(xs []byte, n int) []byte {
	if cap(xs) < n {
		return make([]byte, n)
	}
	return xs[:n]
}
