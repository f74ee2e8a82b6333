package fnnnpy

import (
	"context"
	"math"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/data/internal/importer"
	"github.com/fmcore/fmcore/data/internal/npy"
)

// VideoDir is the folder, relative to the output folder, that holds the imported videos,
// one mp4 per distinct stimulus named by its content hash.
const VideoDir = importer.VideoDir

// The trial parameters that record how video values map to bytes (value = video_offset +
// video_scale·byte). fnn stimuli are bytes already: offset 0, scale 1, as for the
// SENSORIUM importer's grey levels.
const (
	ParamVideoOffset = importer.ParamVideoOffset
	ParamVideoScale  = importer.ParamVideoScale
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

// job holds the state of one import: the output and the reusable buffers of at most one
// trial's arrays.
type job struct {
	t        *Tree
	w        *importer.Writer
	evalStim map[string]string // video name → evaluation video id, for training trials showing it
	f64      []float64         // float64 → float32 staging
	raw      []byte            // stimulus in file order
	frames   []byte            // [T,H,W]
	src      []float32         // one float array in file order
	mod      []float32         // [T,2] modulations before they split into pupil and running
	trial    data.Trial        // the trial being written, slices reused
}

// Output returns the path of the recording Import writes into out: <mouse>-<session>.h5.
func (t *Tree) Output(out string) string {
	return importer.RecordingPath(out, t.Session)
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
	if progress == nil {
		progress = func(int, int) {}
	}
	units := data.Units{ID: make([]int64, U), Area: make([]string, U)}
	for u := range U {
		units.ID[u], units.Area[u] = int64(u), Area
	}
	w, err := importer.Create(t.Dir, out, data.Recording{Session: t.Session, RateHz: RateHz, Units: units})
	if err != nil {
		return nil, err
	}
	defer w.Abort() // no-op after Close
	im := &job{t: t, w: w, evalStim: map[string]string{}}
	for i := range t.Trials {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := im.trial1(&t.Trials[i]); err != nil {
			return nil, err
		}
		if err := w.WriteTrial(&im.trial); err != nil {
			return nil, err
		}
		progress(i+1, len(t.Trials))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := w.Close()
	if err != nil {
		return nil, err
	}
	return &Summary{
		Recording: t.Output(out), Session: t.Session, Units: U, RateHz: RateHz,
		Trials: c.Trials, Frames: c.Frames, Stimuli: c.Stimuli, Repeated: c.Repeated,
		MinRepeat: c.MinRepeat, MaxRepeat: c.MaxRepeat, Videos: c.Videos, NewVideos: c.NewVideos,
		NotImported: t.NotImported,
	}, nil
}

// trial1 reads one trial's arrays, writes or reuses its video and fills im.trial.
func (im *job) trial1(tr *Trial) error {
	t := im.t
	T, U := tr.Frames, t.Units
	if err := im.readFrames(t.path(tr, dirStimuli), T); err != nil {
		return err
	}
	name, err := im.w.Video(im.frames, T, t.Height, t.Width)
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
	return nil
}

// readFrames reads a stimulus array [T,H,W,1] (or [T,H,W]) into im.frames [T,H,W].
func (im *job) readFrames(path string, T int) error {
	a, err := npy.Open(path)
	if err != nil {
		return err
	}
	defer a.Close()
	H, W := im.t.Height, im.t.Width
	if a.Len != T*H*W || a.Shape[0] != T {
		return npy.Errorf(path, "shape %s changed since the import started", a.ShapeString())
	}
	im.raw = grow(im.raw, a.Len)
	if err := a.ReadBytes(im.raw); err != nil {
		return err
	}
	im.frames = grow(im.frames, a.Len)
	if !a.Fortran {
		copy(im.frames, im.raw)
		return nil
	}
	st := a.Strides()
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
func (im *job) readTable(path string, T, K int, dst []float32) error {
	a, err := npy.Open(path)
	if err != nil {
		return err
	}
	defer a.Close()
	if len(a.Shape) != 2 || a.Shape[0] != T || a.Shape[1] != K {
		return npy.Errorf(path, "shape %s changed since the import started", a.ShapeString())
	}
	im.src = grow(im.src, a.Len)
	if err := a.ReadFloats(im.src, &im.f64); err != nil {
		return err
	}
	st := a.Strides()
	for t := range T {
		for k := range K {
			v := im.src[t*st[0]+k*st[1]]
			if math.IsInf(float64(v), 0) {
				return npy.Errorf(path, "frame %d, column %d is %v: use NaN for a missing value", t, k, v)
			}
			dst[t*K+k] = v
		}
	}
	return nil
}

// grow returns xs with length n, reusing its array when it is large enough.
func grow[E any](xs []E, n int) []E {
	if cap(xs) < n {
		return make([]E, n)
	}
	return xs[:n]
}
