package h5

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/hdf5"

	"github.com/fmcore/fmcore/data"
)

// This file walks a recording's structure (everything but per-frame values) and
// collects every problem it finds. Open and Inspect share it, so the reader and the
// validator cannot disagree about what a valid file is.

// Names of the trial group attributes and datasets of format v1.
const (
	attrVideo    = "video"
	attrStimulus = "stimulus"
	attrDomain   = "domain"
	attrTier     = "tier"

	dsResponses = "responses"
	dsPupil     = "pupil"
	dsRunning   = "running"
	dsEye       = "eye"
)

// reservedTrialAttr reports whether name is one of the trial attributes with a fixed
// meaning (and so cannot be a parameter or label).
func reservedTrialAttr(name string) bool {
	return name == attrVideo || name == attrStimulus || name == attrDomain || name == attrTier
}

// reservedTrialDataset reports whether name is one of the required per-frame datasets.
func reservedTrialDataset(name string) bool {
	return name == dsResponses || name == dsPupil || name == dsRunning || name == dsEye
}

// scanner walks one recording file and collects its problems in the order found.
type scanner struct {
	path     string
	problems []*Error
}

func (s *scanner) add(obj string, kind error, format string, args ...any) {
	s.problems = append(s.problems, &Error{
		Problem: data.Problem{File: s.path, Object: obj, Message: fmt.Sprintf(format, args...)},
		Err:     kind,
	})
}

// firstError returns the first problem as an error that also counts the others.
func (s *scanner) firstError() error {
	if len(s.problems) == 0 {
		return nil
	}
	e := *s.problems[0]
	if n := len(s.problems) - 1; n > 0 {
		e.Message += fmt.Sprintf(" (and %d more %s; Validate lists them all)", n, plural(n, "problem"))
	}
	return &e
}

// open opens the file read-only, telling a missing file, a non-HDF5 file, a truncated
// file and an otherwise unreadable one apart. The caller must hold pin().
func (s *scanner) open() (*hdf5.File, error) {
	// Opening it first tells "missing" and "no permission" apart from "not HDF5".
	fh, err := os.Open(s.path)
	var fi os.FileInfo
	if err == nil {
		fi, err = fh.Stat()
		fh.Close()
	}
	if err != nil {
		var pe *fs.PathError
		msg := err.Error()
		if errors.As(err, &pe) {
			msg = pe.Err.Error()
		}
		s.problems = append(s.problems, &Error{Problem: data.Problem{File: s.path, Message: "cannot open: " + msg}, Err: err})
		return nil, s.problems[0]
	}
	switch {
	case fi.IsDir():
		s.add("", ErrNotHDF5, "is a folder, want an HDF5 recording file")
		return nil, s.problems[0]
	case fi.Size() == 0:
		s.add("", ErrNotHDF5, "empty file (0 bytes), want an HDF5 recording")
		return nil, s.problems[0]
	case !hdf5.IsHDF5(s.path):
		s.add("", ErrNotHDF5, "no HDF5 signature: not an HDF5 file (want a recording written by fmcore or h5py)")
		return nil, s.problems[0]
	}
	f, err := hdf5.OpenFile(s.path, hdf5.F_ACC_RDONLY)
	if err != nil {
		msg := lastError()
		if strings.Contains(msg, "truncated") {
			s.add("", ErrTruncated, "truncated: the file is shorter than its HDF5 superblock says (HDF5: %s); the copy or write was interrupted, copy or write it again", msg)
		} else if strings.Contains(msg, "unable to lock file") {
			// HDF5 1.10 locks files on open; some network file systems refuse locks.
			s.add("", ErrCorrupt, "HDF5 cannot lock it (HDF5: %s); on a file system without locks set HDF5_USE_FILE_LOCKING=FALSE", msg)
		} else {
			s.add("", ErrCorrupt, "HDF5 cannot open it (HDF5: %s)", msg)
		}
		return nil, s.problems[0]
	}
	return f, nil
}

// trialScan is what scanning one trial group found.
type trialScan struct {
	info data.TrialInfo
	// arraysOK: all four per-frame datasets are float32 with consistent T and U,
	// so their values can be read.
	arraysOK bool
	units    int // U of the responses dataset
}

// header scans the root attributes, the units and every trial group's attributes and
// dataset shapes. known is false when the file is not a recording this build can read
// (format missing or wrong, version too new); scanning stops there.
func (s *scanner) header(f *hdf5.File) (rec data.Recording, trials []trialScan, known bool) {
	root, err := f.OpenGroup("/")
	if err != nil {
		s.add("/", ErrCorrupt, "cannot open the root group: %s", lastError())
		return rec, nil, false
	}
	defer root.Close()
	have := s.attrSet(root, "/")
	if !have["format"] {
		s.add("/", ErrFormat, "attribute format missing: not an fmcore recording (want format = %q)", data.FormatName)
		return rec, nil, false
	}
	format, ok := s.stringAttr(root, "/", "format", have)
	switch {
	case !ok:
		s.problems[len(s.problems)-1].Err = ErrFormat
		return rec, nil, false
	case format != data.FormatName:
		s.add("/", ErrFormat, "attribute format = %q: not an fmcore recording (want %q)", format, data.FormatName)
		return rec, nil, false
	}
	if v, ok := s.intAttr(root, "/", "version", have); ok {
		switch {
		case v > data.FormatVersion:
			s.add("/", ErrVersion, "format version %d, this build reads versions 1..%d: update fmcore", v, data.FormatVersion)
			return rec, nil, false
		case v < 1:
			s.add("/", ErrSchema, "attribute version = %d, want an integer from 1 to %d", v, data.FormatVersion)
		}
	}
	if v, ok := s.stringAttr(root, "/", "mouse", have); ok {
		rec.Session.Mouse = v
		if v == "" {
			s.add("/", ErrSchema, "attribute mouse is empty, want the mouse id (e.g. \"7\")")
		}
	}
	if v, ok := s.stringAttr(root, "/", "session", have); ok {
		rec.Session.Session = v
		if v == "" {
			s.add("/", ErrSchema, "attribute session is empty, want the session id (e.g. \"4\")")
		}
	}
	if v, ok := s.numberAttr(root, "/", "rate_hz", have); ok {
		rec.RateHz = v
		if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
			s.add("/", ErrSchema, "attribute rate_hz = %v, want a finite frame rate > 0 (Hz)", v)
		}
	}
	rec.Units = s.units(f)
	trials = s.trials(f, rec.Units.Len())
	for _, t := range trials {
		rec.Trials = append(rec.Trials, t.info)
	}
	return rec, trials, true
}

// units scans /units; it returns as much of the table as could be read.
func (s *scanner) units(f *hdf5.File) data.Units {
	var u data.Units
	g, ok := s.group(f, "units", "/units", "a group with id and area")
	if !ok {
		return u
	}
	defer g.Close()
	if in, ok := s.dataset(g, "id", "/units/id", "int64 [U] unit ids"); ok {
		switch {
		case !in.isInteger() || in.rank != 1:
			s.add("/units/id", ErrSchema, "%s %s, want int64 [U] unit ids", in.dtype(), in.shape())
		case in.dims[0] == 0:
			s.add("/units/id", ErrSchema, "no units (shape [0]), want at least one")
		default:
			ids := make([]int64, in.dims[0])
			if err := readAllInt64(g, "id", ids); err != nil {
				s.add("/units/id", ErrCorrupt, "%v", err)
				break
			}
			u.ID = ids
			s.duplicates(ids)
		}
	}
	n := len(u.ID)
	if in, ok := s.dataset(g, "area", "/units/area", "string [U] brain areas"); ok {
		switch {
		case !in.isString() || in.rank != 1:
			s.add("/units/area", ErrSchema, "%s %s, want string [U] brain areas", in.dtype(), in.shape())
		case n > 0 && in.dims[0] != n:
			s.add("/units/area", ErrSchema, "%d areas for %d unit ids; want one per unit", in.dims[0], n)
		default:
			areas, err := readStrings(g, "area", false, in.dims[0])
			if err != nil {
				s.add("/units/area", ErrCorrupt, "%v", err)
				break
			}
			u.Area = areas
		}
	}
	kind, err := objectKind(g, "position_um")
	if err != nil {
		s.add("/units/position_um", ErrCorrupt, "%v", err)
		return u
	}
	if kind == objMissing {
		return u
	}
	in, ok := s.dataset(g, "position_um", "/units/position_um", "float32 [U,3]")
	switch {
	case !ok:
	case !in.isFloat32() || in.rank != 2 || in.dims[1] != 3:
		s.add("/units/position_um", ErrSchema, "%s %s, want float32 [U,3] positions in µm", in.dtype(), in.shape())
	case n > 0 && in.dims[0] != n:
		s.add("/units/position_um", ErrSchema, "%d positions for %d unit ids; want one row per unit", in.dims[0], n)
	case in.dims[0] == 0:
	default:
		pos := make([]float32, in.dims[0]*3)
		if err := readAllFloat32(g, "position_um", pos); err != nil {
			s.add("/units/position_um", ErrCorrupt, "%v", err)
			break
		}
		if c := countValues(pos); c.nan+c.inf > 0 {
			s.add("/units/position_um", ErrSchema, "%d non-finite values (first in unit row %d); positions must be finite, drop the dataset if unknown",
				c.nan+c.inf, c.firstBad()/3)
		}
		u.PositionUM = pos
	}
	return u
}

// duplicates reports repeated unit ids in one problem.
func (s *scanner) duplicates(ids []int64) {
	seen := make(map[int64]int, len(ids))
	dups, first := 0, ""
	for i, id := range ids {
		j, ok := seen[id]
		if !ok {
			seen[id] = i
			continue
		}
		if dups == 0 {
			first = fmt.Sprintf("id %d at rows %d and %d", id, j, i)
		}
		dups++
	}
	if dups > 0 {
		s.add("/units/id", ErrSchema, "%d duplicate unit %s, first %s; unit ids must be unique", dups, plural(dups, "id"), first)
	}
}

// trials scans every group under /trials, in natural order of their names.
func (s *scanner) trials(f *hdf5.File, units int) []trialScan {
	g, ok := s.group(f, "trials", "/trials", "a group with one group per trial")
	if !ok {
		return nil
	}
	defer g.Close()
	n, err := g.NumObjects()
	if err != nil {
		s.add("/trials", ErrCorrupt, "cannot list trials: %s", lastError())
		return nil
	}
	names := make([]string, 0, n)
	for i := range n {
		name, err := g.ObjectNameByIndex(i)
		if err != nil {
			s.add("/trials", ErrCorrupt, "cannot list trials: %s", lastError())
			return nil
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		s.add("/trials", ErrSchema, "no trials")
		return nil
	}
	slices.SortFunc(names, naturalCompare)
	var out []trialScan
	for _, name := range names {
		obj := "/trials/" + name
		tg, ok := s.group(g, name, obj, "a group per trial")
		if !ok {
			continue
		}
		out = append(out, s.trial(tg, obj, name, units))
		tg.Close()
	}
	return out
}

// trial scans one trial group's attributes and datasets.
func (s *scanner) trial(g *hdf5.Group, obj, id string, units int) trialScan {
	before := len(s.problems)
	t := trialScan{info: data.TrialInfo{ID: id}}
	have := s.attrSet(g, obj)
	required := func(name, want string) string {
		v, ok := s.stringAttr(g, obj, name, have)
		if ok && v == "" {
			s.add(obj, ErrSchema, "attribute %s is empty, want %s", name, want)
		}
		return v
	}
	t.info.Video = required(attrVideo, "the video path relative to the recording's folder")
	if filepath.IsAbs(t.info.Video) {
		s.add(obj, ErrSchema, "attribute video = %q is absolute; store it relative to the recording's folder", t.info.Video)
	}
	t.info.Stimulus = required(attrStimulus, "an id shared by repeats of the same stimulus")
	t.info.Domain = data.Domain(required(attrDomain, "a stimulus domain such as \"natural\""))
	if tier, ok := s.stringAttr(g, obj, attrTier, have); ok {
		t.info.Tier = data.Tier(tier)
		if !t.info.Tier.Valid() {
			s.add(obj, ErrSchema, "attribute tier = %q, want train, validation or test", tier)
		}
	}
	s.extraAttrs(g, obj, have, &t.info)

	// The per-frame datasets: responses sets T, the others must agree with it.
	T := -1
	arrays := 0
	if in, ok := s.frameDataset(g, obj, dsResponses, 2, "float32 [T,U]"); ok {
		switch {
		case units > 0 && in.dims[1] != units:
			s.add(obj+"/"+dsResponses, ErrSchema, "%d units (shape %s), /units/id has %d; want one column per unit", in.dims[1], in.shape(), units)
		case in.dims[0] == 0:
			s.add(obj+"/"+dsResponses, ErrSchema, "no frames (shape %s), want at least one", in.shape())
		default:
			T = in.dims[0]
			t.info.Frames = T
			t.units = in.dims[1]
			arrays++
		}
	}
	for _, d := range []struct {
		name string
		rank int
		want string
	}{{dsPupil, 1, "float32 [T]"}, {dsRunning, 1, "float32 [T]"}, {dsEye, 2, "float32 [T,2]"}} {
		in, ok := s.frameDataset(g, obj, d.name, d.rank, d.want)
		switch {
		case !ok:
		case d.rank == 2 && in.dims[1] != 2:
			s.add(obj+"/"+d.name, ErrSchema, "shape %s, want %s (pupil centre x, y)", in.shape(), d.want)
		case T >= 0 && in.dims[0] != T:
			s.add(obj+"/"+d.name, ErrSchema, "%d frames, responses has %d; every per-frame array of a trial has the same T", in.dims[0], T)
		default:
			arrays++
		}
	}
	t.arraysOK = arrays == 4 && len(s.problems) == before
	return t
}

// extraAttrs turns the trial's other single-valued numeric attributes into Params and
// its other single-valued string attributes into Labels; anything else is ignored.
func (s *scanner) extraAttrs(g *hdf5.Group, obj string, have map[string]bool, info *data.TrialInfo) {
	names := make([]string, 0, len(have))
	for name := range have {
		if !reservedTrialAttr(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		in, err := attrInfo(g, name)
		if err != nil {
			s.add(obj, ErrCorrupt, "attribute %s: %v", name, err)
			continue
		}
		switch {
		case !in.isScalar():
		case in.isNumber():
			v, err := readFloatAttr(g, name)
			if err != nil {
				s.add(obj, ErrCorrupt, "attribute %s: %v", name, err)
				continue
			}
			if info.Params == nil {
				info.Params = make(map[string]float64)
			}
			info.Params[name] = v
		case in.isString():
			v, err := readStringAttr(g, name)
			if err != nil {
				s.add(obj, ErrCorrupt, "attribute %s: %v", name, err)
				continue
			}
			if info.Labels == nil {
				info.Labels = make(map[string]string)
			}
			info.Labels[name] = v
		}
	}
}

// frameDataset checks that a per-frame dataset exists and is float32 of the given rank.
func (s *scanner) frameDataset(g *hdf5.Group, obj, name string, rank int, want string) (info, bool) {
	path := obj + "/" + name
	in, ok := s.dataset(g, name, path, want)
	switch {
	case !ok:
		return in, false
	case !in.isFloat32():
		s.add(path, ErrSchema, "dtype %s, want float32 (numpy: .astype('float32'))", in.dtype())
		return in, false
	case in.rank != rank:
		s.add(path, ErrSchema, "shape %s, want %s", in.shape(), want)
		return in, false
	}
	return in, true
}

// group opens group name of loc, reporting it as obj when missing or not a group.
func (s *scanner) group(loc interface {
	object
	OpenGroup(string) (*hdf5.Group, error)
}, name, obj, want string) (*hdf5.Group, bool) {
	kind, err := objectKind(loc, name)
	switch {
	case err != nil:
		s.add(obj, ErrCorrupt, "%v", err)
		return nil, false
	case kind == objMissing:
		s.add(obj, ErrSchema, "group missing, want %s", want)
		return nil, false
	case kind != objGroup:
		s.add(obj, ErrSchema, "is %s, want %s", kind, want)
		return nil, false
	}
	g, err := loc.OpenGroup(name)
	if err != nil {
		s.add(obj, ErrCorrupt, "cannot open group: %s", lastError())
		return nil, false
	}
	return g, true
}

// dataset returns the type and shape of dataset name of loc, reporting it as obj when
// missing or not a dataset.
func (s *scanner) dataset(loc object, name, obj, want string) (info, bool) {
	kind, err := objectKind(loc, name)
	switch {
	case err != nil:
		s.add(obj, ErrCorrupt, "%v", err)
		return info{}, false
	case kind == objMissing:
		s.add(obj, ErrSchema, "dataset missing, want %s", want)
		return info{}, false
	case kind != objDataset:
		s.add(obj, ErrSchema, "is %s, want a dataset %s", kind, want)
		return info{}, false
	}
	in, err := datasetInfo(loc, name)
	if err != nil {
		s.add(obj, ErrCorrupt, "%v", err)
		return info{}, false
	}
	return in, true
}

// attrSet lists the attribute names of loc.
func (s *scanner) attrSet(loc object, obj string) map[string]bool {
	names, err := attrNames(loc)
	if err != nil {
		s.add(obj, ErrCorrupt, "cannot list attributes: %v", err)
	}
	have := make(map[string]bool, len(names))
	for _, n := range names {
		have[n] = true
	}
	return have
}

// attr checks that a required attribute exists and holds one value of an accepted
// kind; accept names the wanted kind for the message.
func (s *scanner) attr(loc object, obj, name string, have map[string]bool, ok func(info) bool, want string) bool {
	if !have[name] {
		s.add(obj, ErrSchema, "attribute %s missing, want %s", name, want)
		return false
	}
	in, err := attrInfo(loc, name)
	if err != nil {
		s.add(obj, ErrCorrupt, "attribute %s: %v", name, err)
		return false
	}
	if !ok(in) || !in.isScalar() {
		s.add(obj, ErrSchema, "attribute %s is %s %s, want %s", name, in.dtype(), in.shape(), want)
		return false
	}
	return true
}

func (s *scanner) stringAttr(loc object, obj, name string, have map[string]bool) (string, bool) {
	if !s.attr(loc, obj, name, have, info.isString, "a string") {
		return "", false
	}
	v, err := readStringAttr(loc, name)
	if err != nil {
		s.add(obj, ErrCorrupt, "attribute %s: %v", name, err)
		return "", false
	}
	return v, true
}

func (s *scanner) intAttr(loc object, obj, name string, have map[string]bool) (int64, bool) {
	if !s.attr(loc, obj, name, have, info.isInteger, "an integer") {
		return 0, false
	}
	v, err := readIntAttr(loc, name)
	if err != nil {
		s.add(obj, ErrCorrupt, "attribute %s: %v", name, err)
		return 0, false
	}
	return v, true
}

func (s *scanner) numberAttr(loc object, obj, name string, have map[string]bool) (float64, bool) {
	if !s.attr(loc, obj, name, have, info.isNumber, "a number (float64)") {
		return 0, false
	}
	v, err := readFloatAttr(loc, name)
	if err != nil {
		s.add(obj, ErrCorrupt, "attribute %s: %v", name, err)
		return 0, false
	}
	return v, true
}

// naturalCompare orders strings with runs of digits compared by value, so trial "2"
// comes before trial "10"; names equal by value ("01", "1") fall back to byte order.
func naturalCompare(a, b string) int {
	if c := naturalValue(a, b); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func naturalValue(a, b string) int {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := len(na) - len(nb); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
