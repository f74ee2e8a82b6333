package h5

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"gonum.org/v1/hdf5"

	"github.com/fmcore/fmcore/data"
)

// File is an open recording, read-only. Open has checked its whole structure (every
// trial's datasets included), so reads only move data. Its methods may be called from
// several goroutines at once (the HDF5 library is built thread-safe and serialises
// them), except Close.
type File struct {
	path   string
	f      *hdf5.File
	trials *hdf5.Group // /trials, open for the reads
	rec    data.Recording
	index  map[string]int // trial id → position in rec.Trials
}

// Open opens a recording and checks its structure: HDF5 signature, truncation, the
// format name and version, the root attributes, the units table and every trial
// group's attributes, dataset types and shapes. The first problem is returned as an
// *Error (wrapping ErrNotHDF5, ErrTruncated, ErrCorrupt, ErrFormat, ErrVersion or
// ErrSchema) that says how many more there are; Validate lists them all and also checks
// the values.
func Open(path string) (*File, error) {
	defer pin()()
	s := &scanner{path: path}
	f, err := s.open()
	if err != nil {
		return nil, err
	}
	rec, _, _ := s.header(f)
	if err := s.firstError(); err != nil {
		f.Close()
		return nil, err
	}
	tg, err := f.OpenGroup("trials")
	if err != nil {
		f.Close()
		return nil, &Error{Problem: data.Problem{File: path, Object: "/trials", Message: "cannot open group: " + lastError()}, Err: ErrCorrupt}
	}
	r := &File{path: path, f: f, trials: tg, rec: rec, index: make(map[string]int, len(rec.Trials))}
	for i, t := range rec.Trials {
		r.index[t.ID] = i
	}
	return r, nil
}

// Path returns the path the file was opened with.
func (r *File) Path() string { return r.path }

// Recording returns the header: session, rate, units and every trial's TrialInfo (in
// natural order of the trial ids) with Frames set from the responses dataset. It is a
// copy the caller may modify.
func (r *File) Recording() data.Recording {
	rec := r.rec
	rec.Units.ID = slices.Clone(rec.Units.ID)
	rec.Units.Area = slices.Clone(rec.Units.Area)
	rec.Units.PositionUM = slices.Clone(rec.Units.PositionUM)
	rec.Trials = slices.Clone(rec.Trials)
	for i := range rec.Trials {
		rec.Trials[i].Params = maps.Clone(rec.Trials[i].Params)
		rec.Trials[i].Labels = maps.Clone(rec.Trials[i].Labels)
	}
	return rec
}

// ReadTrial reads the whole trial id.
func (r *File) ReadTrial(id string) (*data.Trial, error) {
	i, ok := r.index[id]
	if !ok {
		return nil, r.noTrial(id)
	}
	return r.ReadTrialRange(id, 0, r.rec.Trials[i].Frames)
}

// ReadTrialRange reads frames [start, start+n) of trial id: responses [n,U], pupil [n],
// running [n], eye [n,2]. The returned Trial's Frames is n.
func (r *File) ReadTrialRange(id string, start, n int) (*data.Trial, error) {
	t := new(data.Trial)
	if err := r.ReadTrialRangeInto(t, id, start, n); err != nil {
		return nil, err
	}
	return t, nil
}

// ReadTrialRangeInto is ReadTrialRange into dst, reusing the capacity of dst's slices so
// that a loader reading window after window does not allocate. dst.TrialInfo is set to
// the trial's header with Frames = n; its Params and Labels maps are shared with the
// File and must not be modified.
func (r *File) ReadTrialRangeInto(dst *data.Trial, id string, start, n int) error {
	i, ok := r.index[id]
	switch {
	case r.f == nil:
		return r.closed()
	case !ok:
		return r.noTrial(id)
	}
	info := r.rec.Trials[i]
	if start < 0 || n < 1 || start+n > info.Frames {
		return &Error{
			Problem: data.Problem{File: r.path, Object: "/trials/" + id,
				Message: fmt.Sprintf("frames [%d,%d) requested, the trial has frames [0,%d)", start, start+n, info.Frames)},
			Err: ErrRange,
		}
	}
	U := r.rec.Units.Len()
	dst.TrialInfo = info
	dst.Frames = n
	dst.Responses = resize(dst.Responses, n*U)
	dst.Pupil = resize(dst.Pupil, n)
	dst.Running = resize(dst.Running, n)
	dst.Eye = resize(dst.Eye, 2*n)

	defer pin()()
	err := errors.Join(
		readRows(r.trials, id, dsResponses, start, n, U, dst.Responses),
		readRows(r.trials, id, dsPupil, start, n, 0, dst.Pupil),
		readRows(r.trials, id, dsRunning, start, n, 0, dst.Running),
		readRows(r.trials, id, dsEye, start, n, 2, dst.Eye),
	)
	if err != nil {
		return r.fail("/trials/"+id, err.Error()+filterHint(err), ErrCorrupt)
	}
	return nil
}

// UnitsExtraNames lists the datasets under /units/truth (none when the group is absent).
func (r *File) UnitsExtraNames() ([]string, error) {
	if r.f == nil {
		return nil, r.closed()
	}
	defer pin()()
	kind, err := objectKind(r.f, "units/truth")
	if err != nil || kind != objGroup {
		return nil, err
	}
	g, err := r.f.OpenGroup("units/truth")
	if err != nil {
		return nil, r.fail("/units/truth", "cannot open group: "+lastError(), ErrCorrupt)
	}
	defer g.Close()
	n, err := g.NumObjects()
	if err != nil {
		return nil, r.fail("/units/truth", "cannot list datasets: "+lastError(), ErrCorrupt)
	}
	var names []string
	for i := range n {
		name, err := g.ObjectNameByIndex(i)
		if err != nil {
			return nil, r.fail("/units/truth", "cannot list datasets: "+lastError(), ErrCorrupt)
		}
		if k, err := objectKind(g, name); err == nil && k == objDataset {
			names = append(names, name)
		}
	}
	return names, nil
}

// ReadUnitsExtra reads the float32 dataset /units/truth/<name> and its dimensions.
func (r *File) ReadUnitsExtra(name string) ([]float32, []int, error) {
	return r.readExtraFloat32("units/truth/" + name)
}

// ReadUnitsExtraInts reads the integer dataset /units/truth/<name> (any integer width)
// as int64, with its dimensions.
func (r *File) ReadUnitsExtraInts(name string) ([]int64, []int, error) {
	defer pin()()
	rel := "units/truth/" + name
	in, err := r.extraInfo(rel, info.isInteger, "an integer")
	if err != nil {
		return nil, nil, err
	}
	vals := make([]int64, in.points())
	if err := readAllInt64(r.f, rel, vals); err != nil {
		return nil, nil, r.fail("/"+rel, err.Error(), ErrCorrupt)
	}
	return vals, in.dims, nil
}

// ReadUnitsExtraStrings reads the rank-1 string dataset /units/truth/<name>.
func (r *File) ReadUnitsExtraStrings(name string) ([]string, error) {
	defer pin()()
	rel := "units/truth/" + name
	in, err := r.extraInfo(rel, info.isString, "a string")
	if err != nil {
		return nil, err
	}
	if in.rank != 1 {
		return nil, r.fail("/"+rel, fmt.Sprintf("shape %s, want a rank-1 string array", in.shape()), ErrSchema)
	}
	vals, err := readStrings(r.f, rel, false, in.dims[0])
	if err != nil {
		return nil, r.fail("/"+rel, err.Error(), ErrCorrupt)
	}
	return vals, nil
}

// ReadTrialExtra reads the float32 dataset /trials/<id>/<name> (e.g. the simulator's
// noise-free rate [T,U]) and its dimensions.
func (r *File) ReadTrialExtra(id, name string) ([]float32, []int, error) {
	if _, ok := r.index[id]; !ok {
		return nil, nil, r.noTrial(id)
	}
	return r.readExtraFloat32("trials/" + id + "/" + name)
}

// Close closes the file. Reads after Close fail.
func (r *File) Close() error {
	if r.f == nil {
		return nil
	}
	defer pin()()
	err := errors.Join(r.trials.Close(), r.f.Close())
	r.f, r.trials = nil, nil
	if err != nil {
		return fmt.Errorf("close recording %s: %s", r.path, lastError())
	}
	return nil
}

func (r *File) readExtraFloat32(rel string) ([]float32, []int, error) {
	defer pin()()
	in, err := r.extraInfo(rel, info.isFloat32, "float32")
	if err != nil {
		return nil, nil, err
	}
	vals := make([]float32, in.points())
	if err := readAllFloat32(r.f, rel, vals); err != nil {
		return nil, nil, r.fail("/"+rel, err.Error(), ErrCorrupt)
	}
	return vals, in.dims, nil
}

// extraInfo checks that rel names a dataset whose type passes ok.
func (r *File) extraInfo(rel string, ok func(info) bool, want string) (info, error) {
	if r.f == nil {
		return info{}, r.closed()
	}
	kind, err := objectKind(r.f, rel)
	switch {
	case err != nil:
		return info{}, r.fail("/"+rel, err.Error(), ErrCorrupt)
	case kind == objMissing:
		return info{}, r.fail("/"+rel, "dataset missing", ErrSchema)
	case kind != objDataset:
		return info{}, r.fail("/"+rel, fmt.Sprintf("is %s, want a dataset", kind), ErrSchema)
	}
	in, err := datasetInfo(r.f, rel)
	if err != nil {
		return info{}, r.fail("/"+rel, err.Error(), ErrCorrupt)
	}
	if !ok(in) {
		return info{}, r.fail("/"+rel, fmt.Sprintf("dtype %s, want %s", in.dtype(), want), ErrSchema)
	}
	if in.rank < 0 {
		return info{}, r.fail("/"+rel, "empty (null dataspace), want an array", ErrSchema)
	}
	return in, nil
}

func (r *File) closed() error {
	return fmt.Errorf("read recording %s: file is closed", r.path)
}

func (r *File) noTrial(id string) error {
	return r.fail("/trials/"+id, "no such trial", ErrNoTrial)
}

func (r *File) fail(obj, msg string, kind error) error {
	return &Error{Problem: data.Problem{File: r.path, Object: obj, Message: msg}, Err: kind}
}

// resize returns xs with length n, reusing its array when large enough.
func resize(xs []float32, n int) []float32 {
	if cap(xs) < n {
		return make([]float32, n)
	}
	return xs[:n]
}
