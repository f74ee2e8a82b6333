package fnnnpy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/data/internal/importer"
	"github.com/fmcore/fmcore/data/internal/npy"
)

// RateHz is the frame rate of the reference's training data: every array is on the
// 30 Hz clock of the stimulus frames (MODEL.md section 11.1).
const RateHz = 30.0

// Area is the brain area given to every unit: the layout carries no area per unit.
const Area = "unknown"

// The per-trial folders, each holding <trial>.npy, and the evaluation folder.
const (
	dirStimuli      = "stimuli"         // uint8 [T, H, W, 1]
	dirPerspectives = "perspectives"    // float [T, 2] pupil x, y
	dirModulations  = "modulations"     // float [T, 2] pupil radius, treadmill velocity
	dirUnits        = "units"           // float [T, U]
	dirTraining     = "training"        // bool (): training (true) or validation
	dirSamples      = "samples"         // int (): T
	dirEval         = "evaluation_data" // {stimuli,perspectives,modulations,units}/<video>/<repeat>.npy
	evalPrefix      = "test-"           // trial ids of evaluation trials: test-<video>-<repeat>
	labelVideo      = "fnn_video"       // trial label: the evaluation video id
	labelRepeat     = "fnn_repeat"      // trial label: the evaluation repeat
	treeHint        = "an fnn tree holds stimuli/, perspectives/, modulations/, units/, training/ and samples/ with one <trial>.npy each"
)

// ErrNotTree is wrapped by the error of Open for a folder that is not in the fnn layout
// at all.
var ErrNotTree = errors.New("not an fnn data tree")

// InputError is a problem with one source file: which file, and what is wrong with it.
// Every error about bad input that Open and Import return is, or wraps, an *InputError.
// It is the type of data/internal/npy, which reads the .npy files; sensorium.InputError
// is the same type.
type InputError = npy.InputError

// Tree is one folder in the reference's per-trial layout, opened and checked by Open:
// its trials and the dtype and shape of every file the import will read. Only the
// per-trial values remain unread.
type Tree struct {
	Dir     string
	Session data.SessionID
	Units   int // U, the columns of every units array
	Height  int // H of every stimulus frame
	Width   int // W of every stimulus frame
	// Trials lists the evaluation trials (by video, then repeat) and then the training
	// and validation trials (by id), each in natural order.
	Trials []Trial
	// NotImported lists the files and folders under Dir that the import does not read.
	NotImported []string
}

// Trial is one trial of a tree.
type Trial struct {
	ID     string    // trial id in the recording: the file name, or test-<video>-<repeat>
	Tier   data.Tier // train or validation from training/, test for evaluation_data
	Frames int       // T
	Video  string    // evaluation video id; empty for other trials
	Repeat string    // evaluation repeat; empty for other trials
	base   string    // "" or evaluation_data
	rel    string    // <trial>.npy or <video>/<repeat>.npy
}

// IsTree reports whether dir looks like an fnn tree: it has stimuli/ and units/ folders.
// Open says what else is missing.
func IsTree(dir string) bool {
	return isDir(filepath.Join(dir, dirStimuli)) && isDir(filepath.Join(dir, dirUnits))
}

// SessionOf returns the default session of a tree: the folder name is the mouse and
// the session is "1" (the layout names neither).
func SessionOf(dir string) data.SessionID {
	return data.SessionID{Mouse: filepath.Base(filepath.Clean(dir)), Session: "1"}
}

// Open lists dir's trials and checks the header of every file the import will read:
// each exists, is a complete .npy array of the expected dtype, and the shapes agree (the
// same T in a trial's four arrays and its samples value, the same H×W and U in every
// trial). training/ and samples/ values are read. Nothing is written. Errors are
// *InputError values naming the file and what is wrong.
func Open(dir string, session data.SessionID) (*Tree, error) {
	if !IsTree(dir) {
		return nil, &InputError{Path: dir, Msg: "not an fnn data tree (" + treeHint + ")", Err: ErrNotTree}
	}
	t := &Tree{Dir: dir, Session: session}
	evalTrials, err := t.listEval()
	if err != nil {
		return nil, err
	}
	mainTrials, err := t.listMain()
	if err != nil {
		return nil, err
	}
	t.Trials = append(evalTrials, mainTrials...)
	if len(t.Trials) == 0 {
		return nil, npy.Errorf(filepath.Join(dir, dirStimuli), "no trials (no .npy files)")
	}
	for i := range t.Trials {
		if err := t.checkTrial(&t.Trials[i]); err != nil {
			return nil, err
		}
	}
	if t.NotImported, err = t.notImported(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Tree) path(tr *Trial, kind string) string {
	return filepath.Join(t.Dir, tr.base, kind, filepath.FromSlash(tr.rel))
}

// listMain lists stimuli/*.npy and checks that the five other folders hold the same names.
func (t *Tree) listMain() ([]Trial, error) {
	stems, err := listStems(filepath.Join(t.Dir, dirStimuli))
	if err != nil {
		return nil, err
	}
	for _, kind := range []string{dirPerspectives, dirModulations, dirUnits, dirTraining, dirSamples} {
		if err := sameStems(filepath.Join(t.Dir, kind), filepath.Join(t.Dir, dirStimuli), stems); err != nil {
			return nil, err
		}
	}
	trials := make([]Trial, len(stems))
	for i, s := range stems {
		trials[i] = Trial{ID: s, rel: s + ".npy"}
	}
	return trials, nil
}

// listEval lists evaluation_data/stimuli/<video>/<repeat>.npy (none when the folder is
// absent) and checks the other three folders hold the same names.
func (t *Tree) listEval() ([]Trial, error) {
	root := filepath.Join(t.Dir, dirEval)
	if !isDir(root) {
		return nil, nil
	}
	sdir := filepath.Join(root, dirStimuli)
	videos, err := listDirs(sdir)
	if err != nil {
		return nil, err
	}
	var trials []Trial
	for _, v := range videos {
		repeats, err := listStems(filepath.Join(sdir, v))
		if err != nil {
			return nil, err
		}
		for _, kind := range []string{dirPerspectives, dirModulations, dirUnits} {
			if err := sameStems(filepath.Join(root, kind, v), filepath.Join(sdir, v), repeats); err != nil {
				return nil, err
			}
		}
		for _, r := range repeats {
			trials = append(trials, Trial{
				ID: evalPrefix + v + "-" + r, Tier: data.TierTest, Video: v, Repeat: r,
				base: dirEval, rel: v + "/" + r + ".npy",
			})
		}
	}
	return trials, nil
}

// checkTrial checks the headers of a trial's files and reads its training and samples
// values.
func (t *Tree) checkTrial(tr *Trial) error {
	sp := t.path(tr, dirStimuli)
	a, err := npy.Open(sp)
	if err != nil {
		return err
	}
	a.Close()
	if a.Dtype.Kind != 'u' || a.Dtype.Size != 1 {
		return npy.Errorf(sp, "dtype %s, want uint8 grey levels", a.Dtype.Name)
	}
	shape := a.Shape
	if len(shape) == 4 && shape[3] == 1 {
		shape = shape[:3]
	}
	if len(shape) != 3 || shape[0] == 0 || shape[1] == 0 || shape[2] == 0 {
		return npy.Errorf(sp, "shape %s, want (T, H, W, 1) frames", a.ShapeString())
	}
	if t.Height == 0 {
		t.Height, t.Width = shape[1], shape[2]
	}
	if shape[1] != t.Height || shape[2] != t.Width {
		return npy.Errorf(sp, "shape %s, want frames of H×W = %d×%d like the trials before", a.ShapeString(), t.Height, t.Width)
	}
	T := shape[0]
	tr.Frames = T
	for _, kind := range []string{dirPerspectives, dirModulations} {
		p := t.path(tr, kind)
		if err := npy.CheckFloatShape(p, []int{T, 2}, fmt.Sprintf("(T, 2) = (%d, 2), T from %s", T, sp)); err != nil {
			return err
		}
	}
	up := t.path(tr, dirUnits)
	ushape, err := npy.FloatShape(up, 2)
	if err != nil {
		return err
	}
	if t.Units == 0 {
		t.Units = ushape[1]
	}
	if ushape[0] != T || ushape[1] != t.Units || t.Units == 0 {
		return npy.Errorf(up, "shape %s, want (T, U) = (%d, %d): T from %s, U from the trials before", npy.ShapeString(ushape), T, t.Units, sp)
	}
	if tr.base != "" {
		return nil
	}
	tp := t.path(tr, dirTraining)
	ta, vals, _, _, err := npy.ReadSmall(tp, -1)
	if err != nil {
		return err
	}
	if ta.Dtype.Kind != 'b' || ta.Len != 1 {
		return npy.Errorf(tp, "dtype %s shape %s, want one bool", ta.Dtype.Name, ta.ShapeString())
	}
	tr.Tier = data.TierValidation
	if vals[0] != 0 {
		tr.Tier = data.TierTrain
	}
	np := t.path(tr, dirSamples)
	na, _, ints, _, err := npy.ReadSmall(np, -1)
	if err != nil {
		return err
	}
	if !na.Dtype.IsInt() || na.Len != 1 {
		return npy.Errorf(np, "dtype %s shape %s, want one integer", na.Dtype.Name, na.ShapeString())
	}
	if ints[0] != int64(T) {
		return npy.Errorf(np, "%d samples, but %s has %d frames", ints[0], sp, T)
	}
	return nil
}

// listStems returns the names without .npy of the files in dir, in natural order; any
// other entry is an error.
func listStems(dir string) ([]string, error) {
	entries, err := readDir(dir)
	if err != nil {
		return nil, err
	}
	stems := make([]string, 0, len(entries))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue // .DS_Store and the like: listed as not imported
		}
		stem, ok := strings.CutSuffix(e.Name(), ".npy")
		if !ok || e.IsDir() || stem == "" {
			return nil, npy.Errorf(filepath.Join(dir, e.Name()), "unexpected entry: want only <trial>.npy files")
		}
		stems = append(stems, stem)
	}
	sortNatural(stems)
	return stems, nil
}

// listDirs returns the names of the folders in dir, in natural order; any file is an error.
func listDirs(dir string) ([]string, error) {
	entries, err := readDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if !e.IsDir() {
			return nil, npy.Errorf(filepath.Join(dir, e.Name()), "unexpected file: want one folder per evaluation video")
		}
		names = append(names, e.Name())
	}
	sortNatural(names)
	return names, nil
}

// sameStems checks that dir holds <stem>.npy for exactly the stems of ref.
func sameStems(dir, ref string, stems []string) error {
	got, err := listStems(dir)
	if err != nil {
		return err
	}
	want := make(map[string]bool, len(stems))
	for _, s := range stems {
		want[s] = true
	}
	for _, s := range got {
		if !want[s] {
			return npy.Errorf(filepath.Join(dir, s+".npy"), "no matching %s", filepath.Join(ref, s+".npy"))
		}
		delete(want, s)
	}
	for _, s := range stems {
		if want[s] {
			return npy.Errorf(filepath.Join(dir, s+".npy"), "missing, but %s exists (%s)", filepath.Join(ref, s+".npy"), treeHint)
		}
	}
	return nil
}

func readDir(dir string) ([]os.DirEntry, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &InputError{Path: dir, Msg: "missing (" + treeHint + ")", Err: err}
		}
		return nil, &InputError{Path: dir, Msg: "cannot read: " + err.Error(), Err: err}
	}
	return entries, nil
}

// notImported lists what under the tree the import does not read, top-level entries
// with their file count.
func (t *Tree) notImported() ([]string, error) {
	read := map[string]bool{dirStimuli: true, dirPerspectives: true, dirModulations: true, dirUnits: true, dirTraining: true, dirSamples: true}
	evalRead := map[string]bool{dirStimuli: true, dirPerspectives: true, dirModulations: true, dirUnits: true}
	counts := map[string]int{}
	err := data.WalkFolder(t.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(t.Dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		parts := strings.Split(rel, "/")
		if read[parts[0]] || (parts[0] == dirEval && len(parts) > 1 && evalRead[parts[1]]) {
			// Trial files were checked one by one when listing; only hidden files
			// (.DS_Store, ...) are left out there.
			if !d.IsDir() && strings.HasPrefix(d.Name(), ".") {
				counts[rel]++
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		var key string
		switch {
		case len(parts) == 1, parts[0] == dirEval && len(parts) == 2:
			key = rel // a single file
		case parts[0] == dirEval:
			key = parts[0] + "/" + parts[1] + "/"
		default:
			key = parts[0] + "/"
		}
		counts[key]++
		return nil
	})
	if err != nil {
		return nil, &InputError{Path: t.Dir, Msg: "cannot list the folder: " + err.Error(), Err: err}
	}
	return importer.NotImported(counts), nil
}

// sortNatural sorts names with digit runs compared as numbers (2 before 10), the order
// the recording readers list trials in.
func sortNatural(names []string) {
	sort.Slice(names, func(i, j int) bool { return naturalLess(names[i], names[j]) })
}

func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			x, _ := strconv.ParseUint(a[:da], 10, 64)
			y, _ := strconv.ParseUint(b[:db], 10, 64)
			if x != y {
				return x < y
			}
			if da != db {
				return da < db
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
