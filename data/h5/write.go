package h5

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/hdf5"

	"github.com/fmcore/fmcore/data"
)

// deflateLevel is the gzip level of every dataset written: level 4 shrank a 300×36×64
// float32 array 8× in 16 ms (TOOLCHAIN.md §4); higher levels cost time for little gain.
const deflateLevel = 4

// Chunks span whole rows of the trailing dimensions (all units of a frame) and as many
// frames as fit in chunkBytes, at most chunkFrames, so that a window of frames
// decompresses little beyond itself: 256 KiB is 8 frames of 8,000 units, and the cap
// keeps a small session's chunks near one second of frames. (A reader opens the dataset
// per window, so HDF5's chunk cache does not carry over between windows.)
const (
	chunkBytes  = 256 << 10
	chunkFrames = 32
)

// chunkDims returns the chunk shape of a dataset [dims] of elem-byte values.
func chunkDims(dims []int, elem int) []int {
	c := make([]int, len(dims))
	copy(c, dims)
	row := elem * prod(dims[1:])
	c[0] = min(max(1, chunkBytes/max(row, 1)), chunkFrames, dims[0])
	return c
}

// Writer writes one recording file. Nothing appears under the final path until Close
// succeeds: the data goes to a hidden temporary file in the same folder, which Close
// flushes, syncs and renames into place (replacing an existing file only then) and
// Abort removes. Typical use:
//
//	w, err := h5.Create(path, rec)
//	if err != nil {
//		return err
//	}
//	defer w.Abort() // no-op after a successful Close
//	for _, t := range trials {
//		if err := w.WriteTrial(t); err != nil {
//			return err
//		}
//	}
//	return w.Close()
//
// A Writer is not safe for concurrent use.
type Writer struct {
	path   string
	tmp    string
	f      *hdf5.File
	units  *hdf5.Group // /units
	trials *hdf5.Group // /trials
	truth  *hdf5.Group // /units/truth, created on first use
	nUnits int
	frames map[string]int // trial id → T of every trial written
	// failed is set when an HDF5 write failed half-way: the temporary file may hold a
	// partial object, so Close refuses to publish it.
	failed error
	done   bool
}

// Create starts a recording at path with rec's session, rate and units; rec.Trials is
// ignored (trials are written one at a time with WriteTrial). The folder must exist.
func Create(path string, rec data.Recording) (*Writer, error) {
	if err := checkHeader(rec); err != nil {
		return nil, fmt.Errorf("create recording %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("create recording %s: is a folder", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create recording %s: %w", path, err)
	}
	w := &Writer{path: path, tmp: tmp.Name(), nUnits: rec.Units.Len(), frames: make(map[string]int)}
	// CreateTemp makes the file private (0600); a recording is data to share.
	if err := errors.Join(tmp.Close(), os.Chmod(w.tmp, 0o644)); err != nil {
		os.Remove(w.tmp)
		return nil, fmt.Errorf("create recording %s: %w", path, err)
	}
	defer pin()()
	if w.f, err = hdf5.CreateFile(w.tmp, hdf5.F_ACC_TRUNC); err != nil {
		err = h5error("create HDF5 file")
		os.Remove(w.tmp)
		return nil, fmt.Errorf("create recording %s: %w", path, err)
	}
	if err := w.writeHeader(rec); err != nil {
		w.discard()
		return nil, fmt.Errorf("create recording %s: %w", path, err)
	}
	return w, nil
}

// writeHeader writes the root attributes, /units and an empty /trials.
func (w *Writer) writeHeader(rec data.Recording) error {
	root, err := w.f.OpenGroup("/")
	if err != nil {
		return h5error("open root group")
	}
	defer root.Close()
	err = errors.Join(
		writeStrings(root, "format", true, []string{data.FormatName}),
		writeIntAttr(root, "version", data.FormatVersion),
		writeStrings(root, "mouse", true, []string{rec.Session.Mouse}),
		writeStrings(root, "session", true, []string{rec.Session.Session}),
		writeFloatAttr(root, "rate_hz", rec.RateHz),
	)
	if err != nil {
		return err
	}
	if w.units, err = w.f.CreateGroup("units"); err != nil {
		return h5error("create /units")
	}
	U := rec.Units.Len()
	err = errors.Join(
		writeInt64(w.units, "id", rec.Units.ID, []int{U}),
		writeStrings(w.units, "area", false, rec.Units.Area),
	)
	if err == nil && rec.Units.PositionUM != nil {
		err = writeFloat32(w.units, "position_um", rec.Units.PositionUM, []int{U, 3})
	}
	if err != nil {
		return err
	}
	if w.trials, err = w.f.CreateGroup("trials"); err != nil {
		return h5error("create /trials")
	}
	return nil
}

// WriteTrial writes trial t as /trials/<t.ID>: its attributes (video, stimulus, domain,
// tier, then Params as float64 and Labels as string attributes) and its per-frame
// datasets, chunked and deflate-compressed. It checks shapes (t.Check), that the id is
// new and a valid group name, that the text attributes are set, and that no array holds
// ±Inf (NaN is fine: it marks a missing value). A rejected trial leaves the file as it
// was; after a failed HDF5 write only Abort is possible.
func (w *Writer) WriteTrial(t *data.Trial) error {
	if err := w.writable(); err != nil {
		return err
	}
	if err := w.checkTrial(t); err != nil {
		return fmt.Errorf("write trial to %s: %w", w.path, err)
	}
	defer pin()()
	if err := w.writeTrial(t); err != nil {
		w.failed = err
		return fmt.Errorf("write trial %s to %s: %w", t.ID, w.path, err)
	}
	w.frames[t.ID] = t.Frames
	return nil
}

func (w *Writer) checkTrial(t *data.Trial) error {
	if err := t.Check(w.nUnits); err != nil {
		return err
	}
	if err := checkName("trial id", t.ID); err != nil {
		return err
	}
	if _, dup := w.frames[t.ID]; dup {
		return fmt.Errorf("trial %s: written twice, trial ids must be unique", t.ID)
	}
	for _, a := range []struct{ name, value string }{
		{attrVideo, t.Video}, {attrStimulus, t.Stimulus}, {attrDomain, string(t.Domain)},
	} {
		if a.value == "" {
			return fmt.Errorf("trial %s: empty %s", t.ID, a.name)
		}
	}
	if filepath.IsAbs(t.Video) {
		return fmt.Errorf("trial %s: video %q is absolute, want a path relative to the recording's folder", t.ID, t.Video)
	}
	for name := range t.Params {
		if err := checkExtraAttr(t.ID, name); err != nil {
			return err
		}
		if _, both := t.Labels[name]; both {
			return fmt.Errorf("trial %s: %q is both a parameter and a label", t.ID, name)
		}
	}
	for name := range t.Labels {
		if err := checkExtraAttr(t.ID, name); err != nil {
			return err
		}
	}
	for _, a := range []struct {
		name   string
		values []float32
		width  int
	}{{dsResponses, t.Responses, w.nUnits}, {dsPupil, t.Pupil, 1}, {dsRunning, t.Running, 1}, {dsEye, t.Eye, 2}} {
		if i := countValues(a.values).firstInf; i >= 0 {
			return fmt.Errorf("trial %s: %s holds ±Inf at frame %d; use NaN for a missing value", t.ID, a.name, i/a.width)
		}
	}
	return nil
}

func (w *Writer) writeTrial(t *data.Trial) error {
	g, err := w.trials.CreateGroup(t.ID)
	if err != nil {
		return h5error("create group")
	}
	defer g.Close()
	for _, a := range []struct{ name, value string }{
		{attrVideo, t.Video}, {attrStimulus, t.Stimulus}, {attrDomain, string(t.Domain)}, {attrTier, string(t.Tier)},
	} {
		if err := writeStrings(g, a.name, true, []string{a.value}); err != nil {
			return err
		}
	}
	// Sorted names make the file a function of its content: identical trials give
	// byte-identical files whatever the map order.
	for _, name := range slices.Sorted(maps.Keys(t.Params)) {
		if err := writeFloatAttr(g, name, t.Params[name]); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(t.Labels)) {
		if err := writeStrings(g, name, true, []string{t.Labels[name]}); err != nil {
			return err
		}
	}
	T := t.Frames
	return errors.Join(
		writeFloat32(g, dsResponses, t.Responses, []int{T, w.nUnits}),
		writeFloat32(g, dsPupil, t.Pupil, []int{T}),
		writeFloat32(g, dsRunning, t.Running, []int{T}),
		writeFloat32(g, dsEye, t.Eye, []int{T, 2}),
	)
}

// WriteUnitsExtra writes a float32 array [dims] (default [len(values)]) as
// /units/truth/<name>; dims[0] must be U, one row per unit. The simulator stores its
// ground truth this way (RF centres [U,2], preferred orientations [U], …).
func (w *Writer) WriteUnitsExtra(name string, values []float32, dims ...int) error {
	dims, err := w.checkUnitsExtra(name, len(values), dims)
	if err != nil {
		return err
	}
	return w.writeUnitsExtra(name, func(g *hdf5.Group) error { return writeFloat32(g, name, values, dims) })
}

// WriteUnitsExtraInts is WriteUnitsExtra for int64 values.
func (w *Writer) WriteUnitsExtraInts(name string, values []int64, dims ...int) error {
	dims, err := w.checkUnitsExtra(name, len(values), dims)
	if err != nil {
		return err
	}
	return w.writeUnitsExtra(name, func(g *hdf5.Group) error { return writeInt64(g, name, values, dims) })
}

// WriteUnitsExtraStrings writes one string per unit (e.g. a cell class) as
// /units/truth/<name> [U].
func (w *Writer) WriteUnitsExtraStrings(name string, values []string) error {
	if _, err := w.checkUnitsExtra(name, len(values), nil); err != nil {
		return err
	}
	return w.writeUnitsExtra(name, func(g *hdf5.Group) error { return writeStrings(g, name, false, values) })
}

func (w *Writer) checkUnitsExtra(name string, n int, dims []int) ([]int, error) {
	if err := w.writable(); err != nil {
		return nil, err
	}
	obj := "/units/truth/" + name
	err := checkName("dataset name", name)
	if err == nil {
		dims, err = checkDims(n, dims)
	}
	if err == nil && dims[0] != w.nUnits {
		err = fmt.Errorf("first dimension %d, want U = %d (one row per unit)", dims[0], w.nUnits)
	}
	if err != nil {
		return nil, fmt.Errorf("write %s to %s: %w", obj, w.path, err)
	}
	return dims, nil
}

func (w *Writer) writeUnitsExtra(name string, write func(*hdf5.Group) error) error {
	defer pin()()
	obj := "/units/truth/" + name
	if w.truth == nil {
		g, err := w.units.CreateGroup("truth")
		if err != nil {
			w.failed = h5error("create /units/truth")
			return fmt.Errorf("write %s to %s: %w", obj, w.path, w.failed)
		}
		w.truth = g
	}
	if kind, err := objectKind(w.truth, name); err != nil || kind != objMissing {
		return fmt.Errorf("write %s to %s: already written", obj, w.path)
	}
	if err := write(w.truth); err != nil {
		w.failed = err
		return fmt.Errorf("write %s to %s: %w", obj, w.path, err)
	}
	return nil
}

// WriteTrialExtra writes a float32 array [dims] (default [len(values)]) as
// /trials/<trialID>/<name>, for a trial already written; dims[0] must be the trial's T
// (e.g. the simulator's noise-free rate [T,U]). Readers of format v1 ignore it.
func (w *Writer) WriteTrialExtra(trialID, name string, values []float32, dims ...int) error {
	if err := w.writable(); err != nil {
		return err
	}
	obj := "/trials/" + trialID + "/" + name
	T, ok := w.frames[trialID]
	dims, err := checkDims(len(values), dims)
	switch {
	case !ok:
		err = errors.New("no such trial written yet")
	case err != nil:
	case reservedTrialDataset(name):
		err = errors.New("name reserved for a per-frame dataset of format v1")
	default:
		err = checkName("dataset name", name)
	}
	if err == nil && dims[0] != T {
		err = fmt.Errorf("first dimension %d, want T = %d (one row per frame)", dims[0], T)
	}
	if err != nil {
		return fmt.Errorf("write %s to %s: %w", obj, w.path, err)
	}
	defer pin()()
	if kind, err := objectKind(w.trials, trialID+"/"+name); err != nil || kind != objMissing {
		return fmt.Errorf("write %s to %s: already written", obj, w.path)
	}
	if err := writeFloat32(w.trials, trialID+"/"+name, values, dims); err != nil {
		w.failed = err
		return fmt.Errorf("write %s to %s: %w", obj, w.path, err)
	}
	return nil
}

// Close finishes the recording: it closes the HDF5 file, syncs it to disk and renames
// it to the final path, replacing any file there, then syncs the folder. On error
// nothing is left under the final path that was not there before.
func (w *Writer) Close() error {
	if err := w.usable(); err != nil {
		return err
	}
	if w.failed != nil {
		w.discard()
		return fmt.Errorf("close recording %s: an earlier write failed, nothing was saved: %w", w.path, w.failed)
	}
	defer pin()()
	if err := w.closeHDF5(); err != nil {
		w.discard()
		return fmt.Errorf("close recording %s: %w", w.path, err)
	}
	w.done = true
	if err := syncFile(w.tmp); err != nil {
		os.Remove(w.tmp)
		return fmt.Errorf("close recording %s: %w", w.path, err)
	}
	if err := os.Rename(w.tmp, w.path); err != nil {
		os.Remove(w.tmp)
		return fmt.Errorf("close recording %s: %w", w.path, err)
	}
	if err := syncDir(filepath.Dir(w.path)); err != nil {
		return fmt.Errorf("close recording %s: written, but the folder could not be synced: %w", w.path, err)
	}
	return nil
}

// Abort discards the recording: it closes and removes the temporary file and leaves
// the final path untouched. It is a no-op after Close or a previous Abort, so it can be
// deferred.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	defer pin()()
	w.discard()
}

// closeHDF5 closes every open group and then the file, checking first that nothing else
// is open: with HDF5's default "weak" close, a leaked identifier would keep the file
// open and unflushed while it is renamed.
func (w *Writer) closeHDF5() error {
	var errs []error
	for _, g := range []*hdf5.Group{w.truth, w.units, w.trials} {
		if g != nil {
			errs = append(errs, g.Close())
		}
	}
	w.truth, w.units, w.trials = nil, nil, nil
	if n := openObjects(w.f); n != 1 {
		errs = append(errs, fmt.Errorf("internal: %d HDF5 objects still open in the file", n-1))
	}
	errs = append(errs, w.f.Close())
	if err := errors.Join(errs...); err != nil {
		return h5error("close HDF5 file")
	}
	return nil
}

// discard closes and removes the temporary file, ignoring errors: the file is garbage.
func (w *Writer) discard() {
	w.done = true
	for _, g := range []*hdf5.Group{w.truth, w.units, w.trials} {
		if g != nil {
			g.Close()
		}
	}
	if w.f != nil {
		w.f.Close()
	}
	os.Remove(w.tmp)
}

// usable reports whether Close or Abort already ran.
func (w *Writer) usable() error {
	if w.done {
		return fmt.Errorf("recording %s: writer already closed or aborted", w.path)
	}
	return nil
}

// writable is usable, and also refuses writes after a failed HDF5 write.
func (w *Writer) writable() error {
	if err := w.usable(); err != nil {
		return err
	}
	if w.failed != nil {
		return fmt.Errorf("recording %s: an earlier write failed, only Abort is possible: %w", w.path, w.failed)
	}
	return nil
}

// checkHeader checks what Create writes.
func checkHeader(rec data.Recording) error {
	switch {
	case rec.Session.Mouse == "":
		return errors.New("empty mouse id")
	case rec.Session.Session == "":
		return errors.New("empty session id")
	case math.IsNaN(rec.RateHz) || math.IsInf(rec.RateHz, 0) || rec.RateHz <= 0:
		return fmt.Errorf("rate_hz = %v, want a finite frame rate > 0", rec.RateHz)
	}
	if err := rec.Units.Check(); err != nil {
		return err
	}
	if c := countValues(rec.Units.PositionUM); c.nan+c.inf > 0 {
		return fmt.Errorf("units: position_um has %d non-finite values (first in row %d); leave PositionUM nil when unknown", c.nan+c.inf, c.firstBad()/3)
	}
	return nil
}

// checkName accepts a non-empty HDF5 link name without '/'.
func checkName(what, name string) error {
	if name == "" || name == "." || strings.Contains(name, "/") {
		return fmt.Errorf("%s %q: want a non-empty name without '/'", what, name)
	}
	return nil
}

// checkExtraAttr accepts a parameter or label name.
func checkExtraAttr(trial, name string) error {
	if reservedTrialAttr(name) {
		return fmt.Errorf("trial %s: parameter or label %q clashes with a required attribute", trial, name)
	}
	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("trial %s: parameter or label name %q: want a non-empty name without '/'", trial, name)
	}
	return nil
}

// checkDims returns dims (default [n]) after checking they hold n ≥ 1 values.
func checkDims(n int, dims []int) ([]int, error) {
	if len(dims) == 0 {
		dims = []int{n}
	}
	for _, d := range dims {
		if d < 1 {
			return nil, fmt.Errorf("dimensions %s: each must be at least 1", shapeString(dims))
		}
	}
	if prod(dims) != n {
		return nil, fmt.Errorf("%d values for dimensions %s", n, shapeString(dims))
	}
	return dims, nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
