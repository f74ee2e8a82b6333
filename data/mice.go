package data

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// MouseSet is a selection of mice by number, as written on the command line: "all",
// "3", "1-14" or "1,3,5-7". Mouse numbers start at 1 (the simulator names its mice 1…M;
// imported datasets use their own numbers, e.g. SENSORIUM's 29515). Its zero value
// selects no mouse.
type MouseSet struct {
	all    bool
	ranges []mouseRange // sorted, disjoint, not adjacent
}

// mouseRange is the closed interval [lo, hi] of mouse numbers.
type mouseRange struct{ lo, hi int }

// AllMice returns the set that selects every mouse of a dataset.
func AllMice() MouseSet { return MouseSet{all: true} }

// ParseMice parses a mouse selection: "all", or a comma-separated list of numbers and
// ranges lo-hi (inclusive). Spaces around items are ignored. Errors are one line naming
// the offending item.
func ParseMice(s string) (MouseSet, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return MouseSet{}, errors.New("mice: empty selection: give mouse numbers like 1-14, 1,3,5-7 or all")
	}
	if s == "all" {
		return AllMice(), nil
	}
	var rs []mouseRange
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return MouseSet{}, fmt.Errorf("mice %q: empty item between commas", s)
		}
		loS, hiS, isRange := strings.Cut(item, "-")
		lo, err := parseMouse(s, item, loS)
		if err != nil {
			return MouseSet{}, err
		}
		hi := lo
		if isRange {
			if hi, err = parseMouse(s, item, hiS); err != nil {
				return MouseSet{}, err
			}
			if hi < lo {
				return MouseSet{}, fmt.Errorf("mice %q: range %d-%d is empty (write it low-high)", s, lo, hi)
			}
		}
		rs = append(rs, mouseRange{lo, hi})
	}
	return MouseSet{ranges: mergeRanges(rs)}, nil
}

// parseMouse parses one mouse number of item in selection s.
func parseMouse(s, item, num string) (int, error) {
	num = strings.TrimSpace(num)
	if num == "" {
		return 0, fmt.Errorf("mice %q: %q is not a number or a range lo-hi", s, item)
	}
	n, err := strconv.Atoi(num)
	switch {
	case err != nil:
		return 0, fmt.Errorf("mice %q: %q is not a mouse number", s, num)
	case n < 1:
		return 0, fmt.Errorf("mice %q: mouse ids start at 1, got %d", s, n)
	}
	return n, nil
}

// mergeRanges sorts rs and merges overlapping and adjacent ranges.
func mergeRanges(rs []mouseRange) []mouseRange {
	slices.SortFunc(rs, func(a, b mouseRange) int { return cmp.Compare(a.lo, b.lo) })
	out := rs[:0]
	for _, r := range rs {
		if k := len(out) - 1; k >= 0 && r.lo <= out[k].hi+1 {
			out[k].hi = max(out[k].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

// All reports whether the set selects every mouse.
func (m MouseSet) All() bool { return m.all }

// Contains reports whether mouse number n is selected.
func (m MouseSet) Contains(n int) bool {
	if m.all {
		return true
	}
	for _, r := range m.ranges {
		if r.lo <= n && n <= r.hi {
			return true
		}
	}
	return false
}

// String formats the set as ParseMice reads it ("all", "1-3,5"; "" for the empty set).
func (m MouseSet) String() string {
	if m.all {
		return "all"
	}
	parts := make([]string, len(m.ranges))
	for i, r := range m.ranges {
		if r.lo == r.hi {
			parts[i] = strconv.Itoa(r.lo)
		} else {
			parts[i] = fmt.Sprintf("%d-%d", r.lo, r.hi)
		}
	}
	return strings.Join(parts, ",")
}

// SessionFile is one recording found in a dataset folder.
type SessionFile struct {
	Path    string // file path
	Session SessionID
	Units   int // U
	Trials  int // trials of every tier
}

// Mouse is one mouse of a dataset and its sessions, sorted by session id.
type Mouse struct {
	ID       string
	Sessions []SessionFile
}

// FindSessions finds every recording (*.h5, *.hdf5; hidden files and folders skipped)
// below dir, reads each header with header (h5.ReadHeader, say) and groups the sessions
// by mouse. Mice are sorted by number (non-numeric ids after, by name). A session that
// appears in two files is an error naming both. dir may be a symbolic link to the folder
// (WalkFolder).
func FindSessions(dir string, header func(path string) (Recording, error)) ([]Mouse, error) {
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		return nil, fmt.Errorf("dataset %s: %w", dir, err)
	case !st.IsDir():
		return nil, fmt.Errorf("dataset %s: not a folder: point at the folder that holds the recordings", dir)
	}
	var files []string
	err = WalkFolder(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		hidden := p != dir && strings.HasPrefix(d.Name(), ".")
		switch {
		case d.IsDir() && hidden:
			return filepath.SkipDir
		case d.IsDir() || hidden:
			return nil
		}
		if ext := strings.ToLower(filepath.Ext(p)); ext == ".h5" || ext == ".hdf5" {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("dataset %s: %w (*.h5): point at a folder written by fmcore simulate or data import", dir, ErrNoRecordings)
	}
	seen := make(map[SessionID]string, len(files))
	byMouse := make(map[string]*Mouse)
	var mice []*Mouse
	for _, f := range files {
		rec, err := header(f)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", dir, err)
		}
		id := rec.Session
		if other, dup := seen[id]; dup {
			return nil, fmt.Errorf("dataset %s: session %s is in two files, %s and %s: remove one", dir, id, other, f)
		}
		seen[id] = f
		m := byMouse[id.Mouse]
		if m == nil {
			m = &Mouse{ID: id.Mouse}
			byMouse[id.Mouse] = m
			mice = append(mice, m)
		}
		m.Sessions = append(m.Sessions, SessionFile{Path: f, Session: id, Units: rec.Units.Len(), Trials: len(rec.Trials)})
	}
	out := make([]Mouse, len(mice))
	for i, m := range mice {
		slices.SortFunc(m.Sessions, func(a, b SessionFile) int { return compareIDs(a.Session.Session, b.Session.Session) })
		out[i] = *m
	}
	slices.SortFunc(out, func(a, b Mouse) int { return compareIDs(a.ID, b.ID) })
	return out, nil
}

// SelectMice returns the mice of the dataset that set selects, in dataset order. Every
// mouse number the set names must be in the dataset: a typo should not silently train
// on fewer mice. The error lists the dataset's mice.
func SelectMice(mice []Mouse, set MouseSet) ([]Mouse, error) {
	if set.all {
		return mice, nil
	}
	have := make(map[int]bool, len(mice))
	var out []Mouse
	for _, m := range mice {
		if n, err := strconv.Atoi(m.ID); err == nil {
			have[n] = true
			if set.Contains(n) {
				out = append(out, m)
			}
		}
	}
	for _, r := range set.ranges {
		// At most len(mice)+1 numbers of a range are looked at before a missing one.
		for n := r.lo; n <= r.hi; n++ {
			if !have[n] {
				return nil, fmt.Errorf("mice %s: mouse %d: %w (it has mice %s)", set, n, ErrUnknownMouse, mouseList(mice))
			}
		}
	}
	return out, nil
}

// mouseList formats the dataset's mouse ids compactly ("1-14", "3,29515").
func mouseList(mice []Mouse) string {
	var rs []mouseRange
	var names []string
	for _, m := range mice {
		if n, err := strconv.Atoi(m.ID); err == nil && n >= 1 {
			rs = append(rs, mouseRange{n, n})
		} else {
			names = append(names, m.ID)
		}
	}
	s := MouseSet{ranges: mergeRanges(rs)}.String()
	if len(names) > 0 {
		s = strings.Join(append([]string{s}, names...), ",")
		s = strings.TrimPrefix(s, ",")
	}
	if s == "" {
		return "none"
	}
	return s
}

// compareIDs orders ids numerically when both are integers, integers before other ids,
// and other ids by name.
func compareIDs(a, b string) int {
	na, ea := strconv.Atoi(a)
	nb, eb := strconv.Atoi(b)
	switch {
	case ea == nil && eb == nil:
		return cmp.Or(cmp.Compare(na, nb), strings.Compare(a, b))
	case ea == nil:
		return -1
	case eb == nil:
		return 1
	}
	return strings.Compare(a, b)
}
