package h5

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/hdf5"

	"github.com/fmcore/fmcore/data"
)

// Counts counts the values of one per-frame dataset.
type Counts struct {
	Total int // values in the dataset
	NaN   int // missing values
	Inf   int // ±Inf values; any is a problem
}

// NaNFraction returns the fraction of missing values (0 for an empty dataset).
func (c Counts) NaNFraction() float64 {
	if c.Total == 0 {
		return 0
	}
	return float64(c.NaN) / float64(c.Total)
}

// TrialStats holds the value counts of one trial's per-frame datasets.
type TrialStats struct {
	ID        string
	Frames    int    // T
	Responses Counts // [T,U]
	Pupil     Counts // [T]
	Running   Counts // [T]
	Eye       Counts // [T,2]
}

// Inspection is the full result of checking one recording file.
type Inspection struct {
	// Recording is the header as far as it could be read, problems or not (a caller
	// checks the referenced videos with it); nil when the file is not a recording this
	// build reads.
	Recording *data.Recording
	// Problems lists every problem found, in file order; empty for a valid file.
	Problems []data.Problem
	// Trials holds value counts for every trial whose arrays have a valid type and
	// shape, in the order of Recording.Trials.
	Trials []TrialStats
}

// Validate checks everything about a recording that can be checked inside the file and
// returns the header (see Inspection.Recording) and every problem found. Videos are not
// checked: the caller does that with the returned trials' Video paths.
func Validate(path string) (*data.Recording, []data.Problem) {
	in := Inspect(path)
	return in.Recording, in.Problems
}

// Inspect is Validate that also counts NaN and ±Inf values per trial and dataset.
//
// Beyond what Open checks (signature, truncation, format, version, required attributes
// and datasets, types, ranks, U and T agreement, unique and finite unit data, tiers,
// rate_hz), it reads every per-frame value: NaN is counted (it marks a missing value),
// ±Inf is a problem. It reads responses in blocks, so memory stays bounded for long
// trials.
func Inspect(path string) Inspection {
	defer pin()()
	s := &scanner{path: path}
	var out Inspection
	f, err := s.open()
	if err != nil {
		out.Problems = s.list()
		return out
	}
	defer f.Close()
	rec, trials, known := s.header(f)
	if known {
		out.Recording = &rec
	}
	if len(trials) > 0 {
		if tg, err := f.OpenGroup("trials"); err == nil {
			buf := make([]float32, 0, blockValues)
			for _, t := range trials {
				if t.arraysOK && t.units > 0 {
					out.Trials = append(out.Trials, s.trialValues(tg, t.info, t.units, &buf))
				}
			}
			tg.Close()
		}
	}
	out.Problems = s.list()
	return out
}

// blockValues bounds the values read at once when scanning (4 MiB of float32).
const blockValues = 1 << 20

// trialValues counts the values of one trial's four per-frame datasets.
func (s *scanner) trialValues(tg *hdf5.Group, t data.TrialInfo, units int, buf *[]float32) TrialStats {
	obj := "/trials/" + t.ID
	return TrialStats{
		ID:        t.ID,
		Frames:    t.Frames,
		Responses: s.values(tg, obj, dsResponses, t.Frames, units, "unit row", buf),
		Pupil:     s.values(tg, obj, dsPupil, t.Frames, 0, "", buf),
		Running:   s.values(tg, obj, dsRunning, t.Frames, 0, "", buf),
		Eye:       s.values(tg, obj, dsEye, t.Frames, 2, "column", buf),
	}
}

// values reads dataset name ([T] when width is 0, else [T,width]) in blocks of frames,
// counts NaN and ±Inf, and reports ±Inf as a problem. col names the second axis.
func (s *scanner) values(tg *hdf5.Group, obj, name string, T, width int, col string, buf *[]float32) Counts {
	path := obj + "/" + name
	id := strings.TrimPrefix(obj, "/trials/")
	row := max(width, 1) // values per frame
	c := Counts{Total: T * row}
	firstInf := -1
	block := max(1, blockValues/row) // frames per read
	for start := 0; start < T; start += block {
		n := min(block, T-start)
		if cap(*buf) < n*row {
			*buf = make([]float32, n*row)
		}
		b := (*buf)[:n*row]
		if err := readRows(tg, id, name, start, n, width, b); err != nil {
			s.add(path, ErrCorrupt, "cannot read values: %v%s", err, filterHint(err))
			return c
		}
		v := countValues(b)
		c.NaN += v.nan
		c.Inf += v.inf
		if firstInf < 0 && v.firstInf >= 0 {
			firstInf = start*row + v.firstInf
		}
	}
	if c.Inf > 0 {
		where := fmt.Sprintf("frame %d", firstInf/row)
		if width > 0 {
			where += fmt.Sprintf(", %s %d", col, firstInf%row)
		}
		s.add(path, ErrSchema, "%d ±Inf %s (first at %s); use NaN for a missing value", c.Inf, plural(c.Inf, "value"), where)
	}
	return c
}

// filterHint explains a read error caused by a compression filter HDF5 cannot load
// (it looks for a plug-in and reports the plug-in folder): empty for other errors.
func filterHint(err error) string {
	if msg := err.Error(); strings.Contains(msg, "filter") || strings.Contains(msg, "plugin") {
		return " (a compression filter this HDF5 cannot decode, such as h5py's LZF: fmcore reads gzip only, rewrite it with compression='gzip')"
	}
	return ""
}

// list returns the problems as data.Problem values.
func (s *scanner) list() []data.Problem {
	out := make([]data.Problem, len(s.problems))
	for i, e := range s.problems {
		out[i] = e.Problem
	}
	return out
}

// valueCount counts non-finite values; first* are indices, -1 when none.
type valueCount struct {
	nan, inf           int
	firstNaN, firstInf int
}

// firstBad returns the index of the first NaN or ±Inf, or -1.
func (v valueCount) firstBad() int {
	switch {
	case v.firstNaN < 0:
		return v.firstInf
	case v.firstInf < 0:
		return v.firstNaN
	}
	return min(v.firstNaN, v.firstInf)
}

func countValues(xs []float32) valueCount {
	v := valueCount{firstNaN: -1, firstInf: -1}
	for i, x := range xs {
		if x != x {
			v.nan++
			if v.firstNaN < 0 {
				v.firstNaN = i
			}
		} else if x > math.MaxFloat32 || x < -math.MaxFloat32 {
			v.inf++
			if v.firstInf < 0 {
				v.firstInf = i
			}
		}
	}
	return v
}
