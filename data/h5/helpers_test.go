package h5

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/hdf5"

	"github.com/fmcore/fmcore/data"
)

// testRecording returns a header with U units; with pos, unit positions too.
func testRecording(U int, pos bool) data.Recording {
	rec := data.Recording{
		Session: data.SessionID{Mouse: "7", Session: "4"},
		RateHz:  30,
		Units:   data.Units{ID: make([]int64, U), Area: make([]string, U)},
	}
	areas := []string{"V1", "LM", "AL", "RL"}
	for u := range U {
		rec.Units.ID[u] = int64(1000 + 3*u)
		rec.Units.Area[u] = areas[u%len(areas)]
	}
	if pos {
		rec.Units.PositionUM = make([]float32, 3*U)
		for i := range rec.Units.PositionUM {
			rec.Units.PositionUM[i] = float32(i) * 12.5
		}
	}
	return rec
}

// testTrial returns trial id with T frames of U units drawn from rng, with NaN at
// frame 1 of pupil, unit 0 of the last frame of responses and x of the first eye row.
func testTrial(rng *rand.Rand, id string, T, U int, tier data.Tier) *data.Trial {
	t := &data.Trial{
		TrialInfo: data.TrialInfo{
			ID: id, Video: "videos/" + id + ".mp4", Stimulus: "clip" + id,
			Domain: data.DomainNatural, Tier: tier, Frames: T,
		},
		Responses: make([]float32, T*U),
		Pupil:     make([]float32, T),
		Running:   make([]float32, T),
		Eye:       make([]float32, 2*T),
	}
	for _, xs := range [][]float32{t.Responses, t.Pupil, t.Running, t.Eye} {
		for i := range xs {
			xs[i] = float32(rng.NormFloat64())
		}
	}
	nan := float32(math.NaN())
	t.Responses[(T-1)*U] = nan
	t.Eye[0] = nan
	if T > 1 {
		t.Pupil[1] = nan
	}
	return t
}

// writeFile writes a recording with this package's Writer, failing the test on error.
func writeFile(t testing.TB, path string, rec data.Recording, trials ...*data.Trial) {
	t.Helper()
	w, err := Create(path, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, tr := range trials {
		if err := w.WriteTrial(tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// sameFloats reports whether a and b hold the same bits (so NaN equals NaN).
func sameFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// ---- a recording described as a tree, written through gonum's binding ----
//
// Damaged files are built from a tree that the tests write with gonum.org/v1/hdf5
// directly, independently of this package's writer, so that any damage (a wrong type,
// a missing object, an int32 attribute) is one line of Go.

// node is a group: attributes, datasets and subgroups.
type node struct {
	attrs  map[string]any // string, float64, int64, int32, float32 or [2]float64
	dsets  map[string]dset
	groups map[string]*node
}

// dset is a dataset; exactly one of the value slices is set.
type dset struct {
	dims []int
	f32  []float32
	f64  []float64
	i64  []int64
	strs []string // written as fixed-length ASCII strings
}

func f32(dims []int, vals []float32) dset { return dset{dims: dims, f32: vals} }

func newNode() *node {
	return &node{attrs: map[string]any{}, dsets: map[string]dset{}, groups: map[string]*node{}}
}

// validTree returns a valid recording: 3 units, trials "0" (T=5) and "1" (T=4), with
// one NaN in trial 1's pupil.
func validTree() *node {
	root := newNode()
	root.attrs["format"] = "fmcore-recording"
	root.attrs["version"] = int64(1)
	root.attrs["mouse"] = "7"
	root.attrs["session"] = "4"
	root.attrs["rate_hz"] = 30.0
	units := newNode()
	units.dsets["id"] = dset{dims: []int{3}, i64: []int64{5, 6, 7}}
	units.dsets["area"] = dset{dims: []int{3}, strs: []string{"V1", "LM", "V1"}}
	units.dsets["position_um"] = f32([]int{3, 3}, seq(9, 0))
	root.groups["units"] = units
	trials := newNode()
	for i, T := range []int{5, 4} {
		tr := newNode()
		tr.attrs["video"] = fmt.Sprintf("videos/%d.mp4", i)
		tr.attrs["stimulus"] = fmt.Sprintf("s%d", i)
		tr.attrs["domain"] = "natural"
		tr.attrs["tier"] = "train"
		tr.dsets["responses"] = f32([]int{T, 3}, seq(3*T, 0))
		tr.dsets["pupil"] = f32([]int{T}, seq(T, 0))
		tr.dsets["running"] = f32([]int{T}, seq(T, 0))
		tr.dsets["eye"] = f32([]int{T, 2}, seq(2*T, 0))
		trials.groups[fmt.Sprint(i)] = tr
	}
	trials.groups["1"].dsets["pupil"].f32[2] = float32(math.NaN())
	root.groups["trials"] = trials
	return root
}

// seq returns n float32 values from start in steps of 0.5.
func seq(n int, start float32) []float32 {
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = start + float32(i)/2
	}
	return xs
}

// at returns the node at a slash-separated path below n ("trials/0").
func (n *node) at(path string) *node {
	for _, p := range strings.Split(path, "/") {
		n = n.groups[p]
	}
	return n
}

// writeTree writes the tree to dir/name and returns the path.
func writeTree(t testing.TB, dir, name string, root *node) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := hdf5.CreateFile(path, hdf5.F_ACC_TRUNC)
	if err != nil {
		t.Fatal(err)
	}
	g, err := f.OpenGroup("/")
	if err != nil {
		t.Fatal(err)
	}
	if err := writeNode(g, root); err != nil {
		t.Fatalf("write tree %s: %v", path, err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeNode(g *hdf5.Group, n *node) error {
	for name, v := range n.attrs {
		if err := writeTreeAttr(g, name, v); err != nil {
			return fmt.Errorf("attribute %s: %w", name, err)
		}
	}
	for name, d := range n.dsets {
		if err := writeTreeDataset(g, name, d); err != nil {
			return fmt.Errorf("dataset %s: %w", name, err)
		}
	}
	for name, child := range n.groups {
		cg, err := g.CreateGroup(name)
		if err != nil {
			return err
		}
		if err := writeNode(cg, child); err != nil {
			return err
		}
		if err := cg.Close(); err != nil {
			return err
		}
	}
	return nil
}

func writeTreeAttr(g *hdf5.Group, name string, v any) error {
	scalar, err := hdf5.CreateDataspace(hdf5.S_SCALAR)
	if err != nil {
		return err
	}
	defer scalar.Close()
	var dtype *hdf5.Datatype
	space := scalar
	switch v.(type) {
	case string:
		dtype = hdf5.T_GO_STRING // variable-length ASCII
	case float64:
		dtype = hdf5.T_NATIVE_DOUBLE
	case float32:
		dtype = hdf5.T_NATIVE_FLOAT
	case int64:
		dtype = hdf5.T_NATIVE_INT64
	case int32:
		dtype = hdf5.T_NATIVE_INT32
	case [2]float64:
		dtype = hdf5.T_NATIVE_DOUBLE
		if space, err = hdf5.CreateSimpleDataspace([]uint{2}, nil); err != nil {
			return err
		}
		defer space.Close()
	default:
		return fmt.Errorf("unsupported attribute type %T", v)
	}
	a, err := g.CreateAttribute(name, dtype, space)
	if err != nil {
		return err
	}
	defer a.Close()
	switch x := v.(type) {
	case string:
		return a.Write(&x, dtype)
	case float64:
		return a.Write(&x, dtype)
	case float32:
		return a.Write(&x, dtype)
	case int64:
		return a.Write(&x, dtype)
	case int32:
		return a.Write(&x, dtype)
	case [2]float64:
		return a.Write(&x, dtype)
	}
	return nil
}

func writeTreeDataset(g *hdf5.Group, name string, d dset) error {
	dims := make([]uint, len(d.dims))
	for i, x := range d.dims {
		dims[i] = uint(x)
	}
	space, err := hdf5.CreateSimpleDataspace(dims, nil)
	if err != nil {
		return err
	}
	defer space.Close()
	var (
		dtype *hdf5.Datatype
		buf   any
	)
	switch {
	case d.f32 != nil:
		dtype, buf = hdf5.T_NATIVE_FLOAT, &d.f32
	case d.f64 != nil:
		dtype, buf = hdf5.T_NATIVE_DOUBLE, &d.f64
	case d.i64 != nil:
		dtype, buf = hdf5.T_NATIVE_INT64, &d.i64
	case d.strs != nil:
		width := 1
		for _, s := range d.strs {
			width = max(width, len(s))
		}
		raw := make([]byte, width*len(d.strs))
		for i, s := range d.strs {
			copy(raw[i*width:], s)
		}
		st, err := hdf5.CreateDatatype(hdf5.T_STRING, width)
		if err != nil {
			return err
		}
		defer st.Close()
		dtype, buf = st, &raw
	default:
		return fmt.Errorf("no values")
	}
	ds, err := g.CreateDataset(name, dtype, space)
	if err != nil {
		return err
	}
	defer ds.Close()
	if prod(d.dims) == 0 {
		return nil
	}
	return ds.Write(buf)
}
