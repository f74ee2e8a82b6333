package sensorium

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/data/internal/importer"
	"github.com/fmcore/fmcore/data/internal/npy"
)

// RateHz is the frame rate of every SENSORIUM 2023 array: videos, responses and
// behaviour are all resampled to 30 Hz (MODEL.md section 11.4).
const RateHz = 30.0

// Area is the brain area given to every unit: SENSORIUM 2023 recorded V1 only
// (PEERS.md section 1), and the folders carry no area per neuron.
const Area = "V1"

// The per-trial folders under data/, each holding <i>.npy for trial i.
const (
	dirVideos      = "data/videos"       // [H, W, T] frames
	dirResponses   = "data/responses"    // [N, T] deconvolved activity
	dirBehavior    = "data/behavior"     // [2, T] pupil dilation, running speed
	dirPupilCenter = "data/pupil_center" // [2, T] horizontal, vertical eye position
)

// The meta files read.
const (
	fileUnitIDs = "meta/neurons/unit_ids.npy"               // [N] int
	fileCoords  = "meta/neurons/cell_motor_coordinates.npy" // [N, 3] µm
	fileTiers   = "meta/trials/tiers.npy"                   // [n_trials] str
	fileVidMin  = "meta/statistics/videos/all/min.npy"      // video minimum (any shape)
	fileVidMax  = "meta/statistics/videos/all/max.npy"      // video maximum (any shape)
	dirMeta     = "meta"                                    // marks a mouse folder, with data/
	dirData     = "data"                                    // marks a mouse folder, with meta/
	tierNone    = "none"                                    // trials in no tier: skipped
	labelTier   = "sensorium_tier"                          // trial label keeping the original tier
	domainOOD   = data.Domain("ood")                        // bonus tiers: out-of-domain stimuli
	folderHint  = "a SENSORIUM 2023 mouse folder holds data/ and meta/"
)

// mapTier maps a SENSORIUM tier to a format-v1 tier and stimulus domain; ok is false
// for none and unknown names. The live and final test tiers all become test trials;
// their names stay in the sensorium_tier label.
func mapTier(name string) (tier data.Tier, domain data.Domain, ok bool) {
	switch name {
	case "train":
		return data.TierTrain, data.DomainNatural, true
	case "oracle":
		return data.TierValidation, data.DomainNatural, true
	case "live_test_main", "final_test_main":
		return data.TierTest, data.DomainNatural, true
	case "live_test_bonus", "final_test_bonus":
		return data.TierTest, domainOOD, true
	}
	return "", "", false
}

// Folder is one SENSORIUM 2023 mouse folder, opened and checked by Open: its units, its
// trials and the shapes and types of every file the import will read. Only the
// per-trial values remain unread.
type Folder struct {
	Dir     string
	Session data.SessionID
	Units   data.Units
	Height  int     // H of every video frame
	Width   int     // W of every video frame
	Trials  []Trial // every trial of tiers.npy, in index order, skipped ones included
	// VideoRange is [min, max] of the video values from meta/statistics, when present
	// and usable; otherwise Import scans the videos for it.
	VideoRange *[2]float64
	// NotImported lists the files and folders under Dir that the import does not read
	// (config.json, meta/statistics/, ...), each with its file count.
	NotImported []string
}

// Trial is one trial of a folder.
type Trial struct {
	Index int    // i of data/*/<i>.npy, also the trial id in the recording
	Tier  string // the original SENSORIUM tier
	// Frames is the length on disk (the last axis), before NaN-padded frames are cut.
	Frames int
	// NoResponses is set for a test trial without a responses file (the benchmark
	// withheld them): its responses are imported as NaN.
	NoResponses bool
}

// Skipped reports whether the import leaves the trial out (tier none).
func (t Trial) Skipped() bool { return t.Tier == tierNone }

// IsFolder reports whether dir looks like a SENSORIUM 2023 mouse folder: it has both a
// data/ and a meta/ folder. Open says what else is missing.
func IsFolder(dir string) bool {
	return isDir(filepath.Join(dir, dirData)) && isDir(filepath.Join(dir, dirMeta))
}

// Find returns the mouse folders in dir: dir itself when it is one, else its immediate
// subfolders that are (the unzipped benchmark holds one folder per mouse), sorted.
func Find(dir string) ([]string, error) {
	if IsFolder(dir) {
		return []string{dir}, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, &InputError{Path: dir, Msg: "cannot read the folder: " + errors.Unwrap(err).Error(), Err: err}
	}
	var out []string
	for _, e := range entries {
		if p := filepath.Join(dir, e.Name()); e.IsDir() && IsFolder(p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, &InputError{Path: dir, Msg: "not a SENSORIUM 2023 mouse folder, nor a folder of them (" + folderHint + ")", Err: ErrNotFolder}
	}
	return out, nil
}

// ErrNotFolder is wrapped by the error of Find and Open for a folder that is not in the
// SENSORIUM 2023 layout at all.
var ErrNotFolder = errors.New("not a SENSORIUM 2023 mouse folder")

// InputError is a problem with one source file: which file, and what is wrong with it.
// Every error about bad input that Open and Import return is, or wraps, an *InputError.
// It is the type of data/internal/npy, which reads the .npy files; fnnnpy.InputError is
// the same type.
type InputError = npy.InputError

// SessionOf derives the session from a folder name in the benchmark's form
// dynamic<mouse>-<session>-<scan>-Video-<hash>: mouse "29515", session "10-12" for
// dynamic29515-10-12-Video-<hash>. Any other name is the mouse, with session "1".
func SessionOf(dir string) data.SessionID {
	base := filepath.Base(filepath.Clean(dir))
	if rest, ok := strings.CutPrefix(base, "dynamic"); ok {
		p := strings.SplitN(rest, "-", 4)
		if len(p) >= 3 && allDigits(p[0]) && allDigits(p[1]) && allDigits(p[2]) {
			return data.SessionID{Mouse: p[0], Session: p[1] + "-" + p[2]}
		}
	}
	return data.SessionID{Mouse: base, Session: "1"}
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Open reads dir's meta files, lists its trials and checks the header of every file the
// import will read: each exists, is a complete .npy array of a supported dtype, and the
// shapes agree (N units, H×W frames, the same T in the four arrays of a trial). Nothing
// is written. Errors are *InputError values naming the file and what is wrong.
func Open(dir string) (*Folder, error) {
	if !IsFolder(dir) {
		return nil, &InputError{Path: dir, Msg: "not a SENSORIUM 2023 mouse folder (" + folderHint + ")", Err: ErrNotFolder}
	}
	f := &Folder{Dir: dir, Session: SessionOf(dir)}
	tiers, err := f.readTiers()
	if err != nil {
		return nil, err
	}
	if err := f.readUnits(); err != nil {
		return nil, err
	}
	if err := f.listTrials(tiers); err != nil {
		return nil, err
	}
	for i := range f.Trials {
		if err := f.checkTrial(&f.Trials[i]); err != nil {
			return nil, err
		}
	}
	f.VideoRange = f.statsRange()
	if f.NotImported, err = f.notImported(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *Folder) path(rel string) string { return filepath.Join(f.Dir, filepath.FromSlash(rel)) }

func (f *Folder) trialPath(dir string, i int) string {
	return f.path(dir + "/" + strconv.Itoa(i) + ".npy")
}

func (f *Folder) readTiers() ([]string, error) {
	p := f.path(fileTiers)
	a, _, _, tiers, err := npy.ReadSmall(p, 1)
	if err != nil {
		return nil, err
	}
	if !a.Dtype.IsString() {
		return nil, npy.Errorf(p, "dtype %s, want strings (train, oracle, live_test_main, ...)", a.Dtype.Name)
	}
	for i, t := range tiers {
		if _, _, ok := mapTier(t); !ok && t != tierNone {
			return nil, npy.Errorf(p, "trial %d has tier %q, want one of train, oracle, live_test_main, live_test_bonus, final_test_main, final_test_bonus, none", i, t)
		}
	}
	if len(tiers) == 0 {
		return nil, npy.Errorf(p, "no trials")
	}
	return tiers, nil
}

func (f *Folder) readUnits() error {
	p := f.path(fileUnitIDs)
	a, _, ids, _, err := npy.ReadSmall(p, 1)
	if err != nil {
		return err
	}
	if !a.Dtype.IsInt() {
		return npy.Errorf(p, "dtype %s, want integer unit ids", a.Dtype.Name)
	}
	if len(ids) == 0 {
		return npy.Errorf(p, "no units")
	}
	N := len(ids)
	areas := make([]string, N)
	for i := range areas {
		areas[i] = Area
	}
	f.Units = data.Units{ID: ids, Area: areas}
	if err := f.Units.Check(); err != nil {
		return npy.Errorf(p, "%v", strings.TrimPrefix(err.Error(), "units: "))
	}

	p = f.path(fileCoords)
	a, vals, _, _, err := npy.ReadSmall(p, 2)
	if err != nil {
		return err
	}
	if vals == nil || a.Shape[0] != N || a.Shape[1] != 3 {
		return npy.Errorf(p, "shape %s of %s, want (N, 3) = (%d, 3) numbers, N from %s", a.ShapeString(), a.Dtype.Name, N, fileUnitIDs)
	}
	st := a.Strides()
	pos := make([]float32, 3*N)
	for n := range N {
		for k := range 3 {
			v := vals[n*st[0]+k*st[1]]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return npy.Errorf(p, "unit row %d has a non-finite coordinate %v", n, v)
			}
			pos[3*n+k] = float32(v)
		}
	}
	f.Units.PositionUM = pos
	return nil
}

// listTrials checks that data/videos holds exactly <i>.npy for every trial of tiers.npy.
func (f *Folder) listTrials(tiers []string) error {
	dir := f.path(dirVideos)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &InputError{Path: dir, Msg: "missing (" + folderHint + ")", Err: err}
		}
		return &InputError{Path: dir, Msg: "cannot read: " + err.Error(), Err: err}
	}
	seen := make([]bool, len(tiers))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue // .DS_Store and the like: listed as not imported
		}
		stem, ok := strings.CutSuffix(e.Name(), ".npy")
		i, err := strconv.Atoi(stem)
		if !ok || err != nil || i < 0 || strconv.Itoa(i) != stem {
			return npy.Errorf(filepath.Join(dir, e.Name()), "unexpected file: want only <trial>.npy files")
		}
		if i >= len(tiers) {
			return npy.Errorf(filepath.Join(dir, e.Name()), "trial %d is not in %s, which lists %d trials", i, fileTiers, len(tiers))
		}
		seen[i] = true
	}
	for i, t := range tiers {
		if !seen[i] && t != tierNone {
			return npy.Errorf(f.trialPath(dirVideos, i), "missing: %s lists trial %d (tier %s)", fileTiers, i, t)
		}
		f.Trials = append(f.Trials, Trial{Index: i, Tier: t})
	}
	return nil
}

// checkTrial reads the headers of a trial's four files and checks their shapes.
func (f *Folder) checkTrial(t *Trial) error {
	if t.Skipped() {
		return nil
	}
	i := t.Index
	vp := f.trialPath(dirVideos, i)
	shape, err := npy.FloatShape(vp, 3)
	if err != nil {
		return err
	}
	if f.Height == 0 {
		f.Height, f.Width = shape[0], shape[1]
	}
	T := shape[2]
	switch {
	case shape[0] != f.Height || shape[1] != f.Width:
		return npy.Errorf(vp, "shape %s, want (H, W, T) with H×W = %d×%d like the trials before", npy.ShapeString(shape), f.Height, f.Width)
	case T == 0 || shape[0] == 0 || shape[1] == 0:
		return npy.Errorf(vp, "shape %s: an empty video", npy.ShapeString(shape))
	}
	t.Frames = T
	N := f.Units.Len()
	rp := f.trialPath(dirResponses, i)
	if tier, _, _ := mapTier(t.Tier); tier == data.TierTest && !exists(rp) {
		t.NoResponses = true
	} else if err := npy.CheckFloatShape(rp, []int{N, T}, fmt.Sprintf("(N, T) = (%d, %d): N from %s, T from %s", N, T, fileUnitIDs, vp)); err != nil {
		return err
	}
	for _, dir := range []string{dirBehavior, dirPupilCenter} {
		p := f.trialPath(dir, i)
		if err := npy.CheckFloatShape(p, []int{2, T}, fmt.Sprintf("(2, T) = (2, %d), T from %s", T, vp)); err != nil {
			return err
		}
	}
	return nil
}

// statsRange reads the video minimum and maximum from meta/statistics, or returns nil
// when they are absent or unusable (Import then scans the videos).
func (f *Folder) statsRange() *[2]float64 {
	lo, okLo := extreme(f.path(fileVidMin), math.Min)
	hi, okHi := extreme(f.path(fileVidMax), math.Max)
	if !okLo || !okHi || !(lo <= hi) {
		return nil
	}
	return &[2]float64{lo, hi}
}

// extreme reduces a float array of any shape with pick; ok is false for a missing,
// damaged, empty or non-finite array.
func extreme(path string, pick func(a, b float64) float64) (float64, bool) {
	if !exists(path) {
		return 0, false
	}
	_, vals, _, _, err := npy.ReadSmall(path, -1)
	if err != nil || len(vals) == 0 {
		return 0, false
	}
	x := vals[0]
	for _, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, false
		}
		x = pick(x, v)
	}
	return x, true
}

// notImported lists what under the folder the import does not read: single files next
// to the ones it reads, and other folders summarised with their file count.
func (f *Folder) notImported() ([]string, error) {
	used := map[string]bool{fileUnitIDs: true, fileCoords: true, fileTiers: true}
	readDirs := map[string]bool{dirVideos: true, dirResponses: true, dirBehavior: true, dirPupilCenter: true}
	for _, t := range f.Trials {
		if t.Skipped() {
			continue
		}
		for d := range readDirs {
			used[d+"/"+strconv.Itoa(t.Index)+".npy"] = true
		}
	}
	counts := map[string]int{}
	err := data.WalkFolder(f.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(f.Dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if used[rel] {
			return nil
		}
		parent := pathDir(rel)
		switch {
		case readDirs[parent]:
			// A skipped trial's file: counted with the skipped trials, not listed.
			if stem, ok := strings.CutSuffix(pathBase(rel), ".npy"); ok && isSkipped(f.Trials, stem) {
				return nil
			}
			counts[rel]++
		case parent == "." || parent == "meta/neurons" || parent == "meta/trials" || parent == dirData || parent == dirMeta:
			counts[rel]++
		default:
			parts := strings.SplitN(rel, "/", 3)
			counts[strings.Join(parts[:len(parts)-1], "/")+"/"]++
		}
		return nil
	})
	if err != nil {
		return nil, &InputError{Path: f.Dir, Msg: "cannot list the folder: " + err.Error(), Err: err}
	}
	return importer.NotImported(counts), nil
}

func isSkipped(trials []Trial, stem string) bool {
	i, err := strconv.Atoi(stem)
	return err == nil && i >= 0 && i < len(trials) && trials[i].Skipped()
}

func pathDir(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return "."
}

func pathBase(rel string) string { return rel[strings.LastIndexByte(rel, '/')+1:] }

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
