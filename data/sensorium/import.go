package sensorium

import (
	"context"
	"math"
	"strconv"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/data/internal/importer"
	"github.com/fmcore/fmcore/data/internal/npy"
)

// VideoDir is the folder, relative to the output folder, that holds the imported videos,
// one mp4 per distinct video named by its content hash, shared by every recording
// written to the same output folder.
const VideoDir = importer.VideoDir

// The trial parameters that record how video values became bytes:
// value = video_offset + video_scale·byte.
const (
	ParamVideoOffset = importer.ParamVideoOffset
	ParamVideoScale  = importer.ParamVideoScale
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

// job holds the state of one import: the output and the reusable buffers of at most one
// trial's arrays.
type job struct {
	f       *Folder
	w       *importer.Writer
	scaling Scaling
	sum     *Summary
	f64     []float64  // float64 → float32 staging
	video   []float32  // [H,W,T0] in file order
	frames  []byte     // [T,H,W] quantised
	resp    []float32  // [N,T0] in file order
	beh     []float32  // [2,T0]
	pc      []float32  // [2,T0]
	stage   []float32  // [T,2] behaviour before it is split into pupil and running
	trial   data.Trial // the trial being written, slices reused
}

// Output returns the path of the recording Import writes into out: <mouse>-<session>.h5.
func (f *Folder) Output(out string) string {
	return importer.RecordingPath(out, f.Session)
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
	im := &job{
		f: f,
		sum: &Summary{
			Recording: f.Output(out), Session: f.Session, Units: f.Units.Len(), RateHz: RateHz,
			Skipped: map[string]int{}, NotImported: f.NotImported,
		},
	}
	if progress == nil {
		progress = func(int, int) {}
	}
	kept := 0
	for _, t := range f.Trials {
		if t.Skipped() {
			im.sum.Skipped["tier "+tierNone]++
		} else {
			kept++
		}
	}
	if kept == 0 {
		return nil, npy.Errorf(f.path(fileTiers), "every trial has tier none: nothing to import")
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
	w, err := importer.Create(f.Dir, out, data.Recording{Session: f.Session, RateHz: RateHz, Units: f.Units})
	if err != nil {
		return nil, err
	}
	defer w.Abort() // no-op after Close
	im.w = w
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
			return nil, err
		}
		done++
		progress(done, total)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := w.Close()
	if err != nil {
		return nil, err
	}
	s := im.sum
	s.Trials, s.Frames, s.Videos, s.NewVideos = c.Trials, c.Frames, c.Videos, c.NewVideos
	s.Stimuli, s.Repeated, s.MinRepeat, s.MaxRepeat = c.Stimuli, c.Repeated, c.MinRepeat, c.MaxRepeat
	return s, nil
}

// scanRange reads every kept trial's video and returns the smallest and largest finite
// value.
func (im *job) scanRange(ctx context.Context, step func()) (lo, hi float64, err error) {
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
		for _, v := range im.video[:a.Len] {
			if x := float64(v); !math.IsNaN(x) {
				lo, hi = min(lo, x), max(hi, x)
			}
		}
		step()
	}
	if math.IsInf(lo, 1) {
		return 0, 0, npy.Errorf(im.f.path(dirVideos), "every video value is NaN")
	}
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return 0, 0, npy.Errorf(im.f.path(dirVideos), "the videos hold ±Inf: want finite grey levels, NaN only for padding")
	}
	return lo, hi, nil
}

// readFloats opens path and reads it whole into *buf (grown as needed).
func (im *job) readFloats(path string, buf *[]float32) (*npy.Array, error) {
	a, err := npy.Open(path)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	*buf = grow(*buf, a.Len)
	return a, a.ReadFloats(*buf, &im.f64)
}

// trial1 reads trial t's four arrays, cuts the NaN padding, writes or reuses its video
// and fills im.trial.
func (im *job) trial1(t Trial) error {
	f := im.f
	vp := f.trialPath(dirVideos, t.Index)
	va, err := im.readFloats(vp, &im.video)
	if err != nil {
		return err
	}
	if !equalShape(va.Shape, f.Height, f.Width, t.Frames) {
		return npy.Errorf(vp, "shape %s changed since the import started", va.ShapeString())
	}
	T, err := im.quantise(vp, va.Strides(), t.Frames)
	if err != nil {
		return err
	}
	name, err := im.w.Video(im.frames, T, f.Height, f.Width)
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
	im.sum.CutFrames += t.Frames - T
	return nil
}

// quantise finds the trial's length T (the frames before the trailing all-NaN ones),
// checks that no pixel before T is NaN or ±Inf, and writes frames [T,H,W] to im.frames.
func (im *job) quantise(path string, st []int, T0 int) (int, error) {
	H, W := im.f.Height, im.f.Width
	v := im.video
	T := T0
	for T > 0 && allNaN(v, st, H, W, T-1) {
		T--
	}
	if T == 0 {
		return 0, npy.Errorf(path, "every frame is NaN: an empty trial")
	}
	im.frames = grow(im.frames, T*H*W)
	for t := range T {
		for y := range H {
			for x := range W {
				val := v[y*st[0]+x*st[1]+t*st[2]]
				if math.IsNaN(float64(val)) || math.IsInf(float64(val), 0) {
					return 0, npy.Errorf(path, "pixel (y %d, x %d) of frame %d is %v inside the trial (it ends at frame %d): NaN may only pad the end", y, x, t, val, T)
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

// columns copies an array [K, T0] (K = width rows, time last) into dst [T, K]
// (time first), checking the shape, rejecting ±Inf and counting the finite values of the
// cut frames T..T0-1.
func (im *job) columns(a *npy.Array, src []float32, shape []int, T int, dst []float32, K int) error {
	if len(a.Shape) != 2 || a.Shape[0] != shape[0] || a.Shape[1] != shape[1] {
		return npy.Errorf(a.Path, "shape %s changed since the import started", a.ShapeString())
	}
	st := a.Strides()
	T0 := shape[1]
	for k := range K {
		for t := range T0 {
			v := src[k*st[0]+t*st[1]]
			if math.IsInf(float64(v), 0) {
				return npy.Errorf(a.Path, "row %d, frame %d is %v: use NaN for a missing value", k, t, v)
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
func (im *job) rows(arr *npy.Array, src []float32, T0, T int, a, b []float32) error {
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

// grow returns xs with length n, reusing its array when it is large enough.
func grow[E any](xs []E, n int) []E {
	if cap(xs) < n {
		return make([]E, n)
	}
	return xs[:n]
}
