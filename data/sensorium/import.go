package sensorium

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

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

// Scaling maps video values to bytes: byte = round((value − Offset)/Scale), clipped to
// 0..255, and back: value ≈ Offset + Scale·byte, within Scale/2 for values in range.
type Scaling struct {
	Offset float64
	Scale  float64
}

// ScalingFor returns the scaling for videos whose values lie in [lo, hi]: the identity
// when that range fits 0..255 (SENSORIUM's videos hold grey levels 0..255, which then
// import exactly), else the affine map of [lo, hi] onto 0..255.
func ScalingFor(lo, hi float64) Scaling {
	if lo >= 0 && hi <= 255 {
		return Scaling{Offset: 0, Scale: 1}
	}
	if !(hi > lo) {
		return Scaling{Offset: lo, Scale: 1}
	}
	return Scaling{Offset: lo, Scale: (hi - lo) / 255}
}

// Byte quantises v; clipped reports whether v lay more than half a step outside 0..255.
func (s Scaling) Byte(v float32) (b byte, clipped bool) {
	x := math.Round((float64(v) - s.Offset) / s.Scale)
	switch {
	case x < 0:
		return 0, x < -0.5
	case x > 255:
		return 255, x > 255.5
	}
	return byte(x), false
}

// Value returns the video value a byte stands for.
func (s Scaling) Value(b byte) float64 { return s.Offset + s.Scale*float64(b) }

// Summary says what one import wrote and what it left out.
type Summary struct {
	Recording string // path of the recording written
	Session   data.SessionID
	Units     int
	RateHz    float64
	Trials    map[data.Tier]int // trials written per tier
	Frames    map[data.Tier]int // frames written per tier (after cutting padding)
	Stimuli   int               // distinct stimuli
	Repeated  int               // stimuli shown in more than one trial
	MinRepeat int               // fewest trials of a repeated stimulus (0 when none)
	MaxRepeat int               // most trials of one stimulus
	Videos    int               // distinct mp4 files referenced
	NewVideos int               // of which this import encoded (the rest existed already)
	Scaling   Scaling
	// RangeSource says where the video range came from: meta/statistics or a scan.
	RangeSource string
	Clipped     int            // video values outside the scaling's range, clipped to 0 or 255
	CutFrames   int            // NaN-padded frames cut from trial ends
	CutValues   int            // finite values in the cut frames (responses, behaviour), dropped
	Skipped     map[string]int // trials left out, by reason
	NoResponses int            // test trials without a responses file, imported as NaN
	NotImported []string       // files and folders of the source not read
}

// importer holds the reusable buffers of one import: at most one trial's arrays.
type importer struct {
	f       *Folder
	out     string
	scaling Scaling
	sum     *Summary
	created []string        // mp4 files this import encoded, removed on failure
	known   map[string]bool // video names referenced so far
	repeats map[string]int  // stimulus → trials
	f64     []float64       // float64 → float32 staging
	video   []float32       // [H,W,T0] in file order
	frames  []byte          // [T,H,W] quantised
	resp    []float32       // [N,T0] in file order
	beh     []float32       // [2,T0]
	pc      []float32       // [2,T0]
	stage   []float32       // [T,2] behaviour before it is split into pupil and running
	trial   data.Trial      // the trial being written, slices reused
	hash    [sha256.Size]byte
}

// Output returns the path of the recording Import writes into out: <mouse>-<session>.h5.
func (f *Folder) Output(out string) string {
	return filepath.Join(out, f.Session.String()+".h5")
}

// Import converts the folder into one recording in out (see Output) plus one lossless
// mp4 per distinct video under out/videos, holding one trial in memory at a time.
// progress, if not nil, is called after each trial with the trials done and the total
// (a scan of the videos for their range, when meta/statistics lacks it, counts as a
// first pass over the trials). Import stops at the first bad value or when ctx is
// cancelled; it then leaves no recording under the final name and removes the videos it
// encoded, so that a rerun starts cleanly. Videos already in out/videos are reused, not
// re-encoded: their names are content hashes. out must exist.
func (f *Folder) Import(ctx context.Context, out string, progress func(done, total int)) (sum *Summary, err error) {
	im := &importer{
		f: f, out: out, known: map[string]bool{}, repeats: map[string]int{},
		sum: &Summary{
			Recording: f.Output(out), Session: f.Session, Units: f.Units.Len(), RateHz: RateHz,
			Trials: map[data.Tier]int{}, Frames: map[data.Tier]int{}, Skipped: map[string]int{},
			NotImported: f.NotImported,
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
	kept := 0
	for _, t := range f.Trials {
		if t.Skipped() {
			im.sum.Skipped["tier "+tierNone]++
		} else {
			kept++
		}
	}
	if kept == 0 {
		return nil, inputErr(f.path(fileTiers), "every trial has tier none: nothing to import")
	}
	total, done := kept, 0
	if f.VideoRange != nil {
		im.sum.RangeSource = fileVidMin + ", " + pathBase(fileVidMax)
		im.scaling = ScalingFor(f.VideoRange[0], f.VideoRange[1])
	} else {
		total *= 2
		im.sum.RangeSource = "a scan of every video"
		lo, hi, err := im.scanRange(ctx, func() { done++; progress(done, total) })
		if err != nil {
			return nil, err
		}
		im.scaling = ScalingFor(lo, hi)
	}
	im.sum.Scaling = im.scaling
	if err := os.MkdirAll(filepath.Join(out, VideoDir), 0o755); err != nil {
		return nil, fmt.Errorf("import %s: %w", f.Dir, err)
	}
	w, err := h5.Create(im.sum.Recording, data.Recording{Session: f.Session, RateHz: RateHz, Units: f.Units})
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", f.Dir, err)
	}
	defer w.Abort() // no-op after Close
	for _, t := range f.Trials {
		if t.Skipped() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := im.trial1(t); err != nil {
			return nil, err
		}
		if err := w.WriteTrial(&im.trial); err != nil {
			return nil, fmt.Errorf("import %s: %w", f.Dir, err)
		}
		done++
		progress(done, total)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("import %s: %w", f.Dir, err)
	}
	im.finishSummary()
	return im.sum, nil
}

// scanRange reads every kept trial's video and returns the smallest and largest finite
// value.
func (im *importer) scanRange(ctx context.Context, step func()) (lo, hi float64, err error) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, t := range im.f.Trials {
		if t.Skipped() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		p := im.f.trialPath(dirVideos, t.Index)
		a, err := im.readFloats(p, &im.video)
		if err != nil {
			return 0, 0, err
		}
		for _, v := range im.video[:a.n] {
			if x := float64(v); !math.IsNaN(x) {
				lo, hi = min(lo, x), max(hi, x)
			}
		}
		step()
	}
	if math.IsInf(lo, 1) {
		return 0, 0, inputErr(im.f.path(dirVideos), "every video value is NaN")
	}
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return 0, 0, inputErr(im.f.path(dirVideos), "the videos hold ±Inf: want finite grey levels, NaN only for padding")
	}
	return lo, hi, nil
}

// readFloats opens path and reads it whole into *buf (grown as needed).
func (im *importer) readFloats(path string, buf *[]float32) (*array, error) {
	a, err := openArray(path)
	if err != nil {
		return nil, err
	}
	defer a.close()
	if cap(*buf) < a.n {
		*buf = make([]float32, a.n)
	}
	*buf = (*buf)[:a.n]
	return a, a.readFloats(*buf, &im.f64)
}

// trial1 reads trial t's four arrays, cuts the NaN padding, writes or reuses its video
// and fills im.trial.
func (im *importer) trial1(t Trial) error {
	f := im.f
	vp := f.trialPath(dirVideos, t.Index)
	va, err := im.readFloats(vp, &im.video)
	if err != nil {
		return err
	}
	if !equalShape(va.shape, f.Height, f.Width, t.Frames) {
		return inputErr(vp, "shape %s changed since the import started", va.shapeString())
	}
	T, err := im.quantise(vp, va.strides(), t.Frames)
	if err != nil {
		return err
	}
	name, err := im.storeVideo(T)
	if err != nil {
		return err
	}
	tier, domain, _ := mapTier(t.Tier)
	N := f.Units.Len()
	tr := &im.trial
	tr.TrialInfo = data.TrialInfo{
		ID: strconv.Itoa(t.Index), Video: VideoDir + "/" + name + ".mp4", Stimulus: name,
		Domain: domain, Tier: tier, Frames: T,
		Params: map[string]float64{ParamVideoOffset: im.scaling.Offset, ParamVideoScale: im.scaling.Scale},
		Labels: map[string]string{labelTier: t.Tier},
	}
	tr.Responses = grow(tr.Responses, T*N)
	tr.Pupil = grow(tr.Pupil, T)
	tr.Running = grow(tr.Running, T)
	tr.Eye = grow(tr.Eye, 2*T)
	if t.NoResponses {
		nan := float32(math.NaN())
		for i := range tr.Responses {
			tr.Responses[i] = nan
		}
		im.sum.NoResponses++
	} else {
		rp := f.trialPath(dirResponses, t.Index)
		ra, err := im.readFloats(rp, &im.resp)
		if err != nil {
			return err
		}
		if err := im.columns(ra, im.resp, []int{N, t.Frames}, T, tr.Responses, N); err != nil {
			return err
		}
	}
	// behavior rows: pupil dilation, running speed; pupil_center rows: x, y.
	ba, err := im.readFloats(f.trialPath(dirBehavior, t.Index), &im.beh)
	if err != nil {
		return err
	}
	pa, err := im.readFloats(f.trialPath(dirPupilCenter, t.Index), &im.pc)
	if err != nil {
		return err
	}
	if err := im.rows(ba, im.beh, t.Frames, T, tr.Pupil, tr.Running); err != nil {
		return err
	}
	if err := im.columns(pa, im.pc, []int{2, t.Frames}, T, tr.Eye, 2); err != nil {
		return err
	}
	im.sum.Trials[tier]++
	im.sum.Frames[tier] += T
	im.sum.CutFrames += t.Frames - T
	im.repeats[name]++
	return nil
}

// quantise finds the trial's length T (the frames before the trailing all-NaN ones),
// checks that no pixel before T is NaN or ±Inf, and writes frames [T,H,W] to im.frames.
func (im *importer) quantise(path string, st []int, T0 int) (int, error) {
	H, W := im.f.Height, im.f.Width
	v := im.video
	T := T0
	for T > 0 && allNaN(v, st, H, W, T-1) {
		T--
	}
	if T == 0 {
		return 0, inputErr(path, "every frame is NaN: an empty trial")
	}
	im.frames = growBytes(im.frames, T*H*W)
	for t := range T {
		for y := range H {
			for x := range W {
				val := v[y*st[0]+x*st[1]+t*st[2]]
				if math.IsNaN(float64(val)) || math.IsInf(float64(val), 0) {
					return 0, inputErr(path, "pixel (y %d, x %d) of frame %d is %v inside the trial (it ends at frame %d): NaN may only pad the end", y, x, t, val, T)
				}
				b, clipped := im.scaling.Byte(val)
				if clipped {
					im.sum.Clipped++
				}
				im.frames[(t*H+y)*W+x] = b
			}
		}
	}
	return T, nil
}

func allNaN(v []float32, st []int, H, W, t int) bool {
	for y := range H {
		for x := range W {
			if !math.IsNaN(float64(v[y*st[0]+x*st[1]+t*st[2]])) {
				return false
			}
		}
	}
	return true
}

// storeVideo names the quantised frames by their content hash and encodes them to
// out/videos/<hash>.mp4 unless that file exists already.
func (im *importer) storeVideo(T int) (string, error) {
	H, W := im.f.Height, im.f.Width
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
	if exists(path) {
		return name, nil
	}
	enc, err := video.Create(path, W, H, RateHz)
	if err != nil {
		return "", fmt.Errorf("import %s: %w", im.f.Dir, err)
	}
	for t := range T {
		if err := enc.WriteFrame(im.frames[t*H*W : (t+1)*H*W]); err != nil {
			enc.Abort()
			return "", fmt.Errorf("import %s: %w", im.f.Dir, err)
		}
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("import %s: %w", im.f.Dir, err)
	}
	im.created = append(im.created, path)
	im.sum.NewVideos++
	return name, nil
}

// columns copies an array [K, T0] (K = width rows, time last) into dst [T, K]
// (time first), checking the shape, rejecting ±Inf and counting the finite values of the
// cut frames T..T0-1.
func (im *importer) columns(a *array, src []float32, shape []int, T int, dst []float32, K int) error {
	if len(a.shape) != 2 || a.shape[0] != shape[0] || a.shape[1] != shape[1] {
		return inputErr(a.path, "shape %s changed since the import started", a.shapeString())
	}
	st := a.strides()
	T0 := shape[1]
	for k := range K {
		for t := range T0 {
			v := src[k*st[0]+t*st[1]]
			if math.IsInf(float64(v), 0) {
				return inputErr(a.path, "row %d, frame %d is %v: use NaN for a missing value", k, t, v)
			}
			if t < T {
				dst[t*K+k] = v
			} else if !math.IsNaN(float64(v)) {
				im.sum.CutValues++
			}
		}
	}
	return nil
}

// rows copies the two rows of an array [2, T0] into a[:T] and b[:T] (see columns).
func (im *importer) rows(arr *array, src []float32, T0, T int, a, b []float32) error {
	im.stage = grow(im.stage, 2*T)
	if err := im.columns(arr, src, []int{2, T0}, T, im.stage, 2); err != nil {
		return err
	}
	for t := range T {
		a[t], b[t] = im.stage[2*t], im.stage[2*t+1]
	}
	return nil
}

func equalShape(shape []int, dims ...int) bool {
	if len(shape) != len(dims) {
		return false
	}
	for i := range dims {
		if shape[i] != dims[i] {
			return false
		}
	}
	return true
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
