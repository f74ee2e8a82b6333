package h5

import (
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmcore/fmcore/data"
)

// want is one expected problem: its object and a phrase of its message.
type want struct {
	object string
	phrase string
}

// checkProblems asserts that problems are exactly the wanted ones, in any order, each
// naming path.
func checkProblems(t *testing.T, path string, problems []data.Problem, wants []want) {
	t.Helper()
	for _, p := range problems {
		if p.File != path {
			t.Errorf("problem %q names file %q, want %q", p, p.File, path)
		}
	}
	if len(problems) != len(wants) {
		t.Errorf("%d problems, want %d:\n%s", len(problems), len(wants), problemLines(problems))
	}
	for _, w := range wants {
		found := false
		for _, p := range problems {
			if p.Object == w.object && strings.Contains(p.Message, w.phrase) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem on %q containing %q; got:\n%s", w.object, w.phrase, problemLines(problems))
		}
	}
}

func problemLines(ps []data.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("\t" + p.String() + "\n")
	}
	return b.String()
}

// TestValidateDamagedTrees writes a valid recording with one kind of damage each and
// checks that Validate reports exactly that problem and Open fails with its sentinel.
func TestValidateDamagedTrees(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name   string
		damage func(root *node)
		wants  []want
		// kind is the sentinel Open returns; nil when Open succeeds (values are only
		// checked by Validate).
		kind error
	}{
		{"format missing", func(r *node) { delete(r.attrs, "format") },
			[]want{{"/", "attribute format missing: not an fmcore recording"}}, ErrFormat},
		{"format wrong", func(r *node) { r.attrs["format"] = "neuro-recording" },
			[]want{{"/", `format = "neuro-recording": not an fmcore recording`}}, ErrFormat},
		{"format not a string", func(r *node) { r.attrs["format"] = 1.0 },
			[]want{{"/", "attribute format is float64 scalar, want a string"}}, ErrFormat},
		{"version newer", func(r *node) { r.attrs["version"] = int64(2) },
			[]want{{"/", "format version 2, this build reads versions 1..1"}}, ErrVersion},
		{"version zero", func(r *node) { r.attrs["version"] = int64(0) },
			[]want{{"/", "attribute version = 0"}}, ErrSchema},
		{"version float", func(r *node) { r.attrs["version"] = 1.0 },
			[]want{{"/", "attribute version is float64 scalar, want an integer"}}, ErrSchema},
		{"version missing", func(r *node) { delete(r.attrs, "version") },
			[]want{{"/", "attribute version missing"}}, ErrSchema},
		{"version array", func(r *node) { r.attrs["version"] = [2]float64{1, 1} },
			[]want{{"/", "attribute version is float64 [2], want an integer"}}, ErrSchema},
		{"mouse missing", func(r *node) { delete(r.attrs, "mouse") },
			[]want{{"/", "attribute mouse missing, want a string"}}, ErrSchema},
		{"mouse empty", func(r *node) { r.attrs["mouse"] = "" },
			[]want{{"/", "attribute mouse is empty"}}, ErrSchema},
		{"session integer", func(r *node) { r.attrs["session"] = int64(4) },
			[]want{{"/", "attribute session is int64 scalar, want a string"}}, ErrSchema},
		{"rate missing", func(r *node) { delete(r.attrs, "rate_hz") },
			[]want{{"/", "attribute rate_hz missing"}}, ErrSchema},
		{"rate NaN", func(r *node) { r.attrs["rate_hz"] = nan },
			[]want{{"/", "attribute rate_hz = NaN, want a finite frame rate > 0"}}, ErrSchema},
		{"rate infinite", func(r *node) { r.attrs["rate_hz"] = math.Inf(1) },
			[]want{{"/", "attribute rate_hz = +Inf"}}, ErrSchema},
		{"rate zero", func(r *node) { r.attrs["rate_hz"] = 0.0 },
			[]want{{"/", "attribute rate_hz = 0"}}, ErrSchema},
		{"rate negative", func(r *node) { r.attrs["rate_hz"] = -30.0 },
			[]want{{"/", "attribute rate_hz = -30"}}, ErrSchema},
		{"units missing", func(r *node) { delete(r.groups, "units") },
			[]want{{"/units", "group missing"}}, ErrSchema},
		{"unit ids missing", func(r *node) { delete(r.at("units").dsets, "id") },
			[]want{{"/units/id", "dataset missing, want int64 [U]"}}, ErrSchema},
		{"unit ids float", func(r *node) { r.at("units").dsets["id"] = dset{dims: []int{3}, f64: []float64{5, 6, 7}} },
			[]want{{"/units/id", "float64 [3], want int64 [U]"}}, ErrSchema},
		{"unit ids rank 2", func(r *node) { r.at("units").dsets["id"] = dset{dims: []int{3, 1}, i64: []int64{5, 6, 7}} },
			[]want{{"/units/id", "int64 [3,1], want int64 [U]"}}, ErrSchema},
		{"unit ids duplicate", func(r *node) { r.at("units").dsets["id"].i64[2] = 5 },
			[]want{{"/units/id", "1 duplicate unit id, first id 5 at rows 0 and 2"}}, ErrSchema},
		{"areas too few", func(r *node) { r.at("units").dsets["area"] = dset{dims: []int{2}, strs: []string{"V1", "LM"}} },
			[]want{{"/units/area", "2 areas for 3 unit ids"}}, ErrSchema},
		{"areas not strings", func(r *node) { r.at("units").dsets["area"] = dset{dims: []int{3}, i64: []int64{1, 2, 3}} },
			[]want{{"/units/area", "int64 [3], want string [U]"}}, ErrSchema},
		{"position NaN", func(r *node) { r.at("units").dsets["position_um"].f32[4] = float32(nan) },
			[]want{{"/units/position_um", "1 non-finite values (first in unit row 1)"}}, ErrSchema},
		{"position infinite", func(r *node) { r.at("units").dsets["position_um"].f32[8] = float32(math.Inf(-1)) },
			[]want{{"/units/position_um", "first in unit row 2"}}, ErrSchema},
		{"position 2-D", func(r *node) { r.at("units").dsets["position_um"] = f32([]int{3, 2}, seq(6, 0)) },
			[]want{{"/units/position_um", "float32 [3,2], want float32 [U,3]"}}, ErrSchema},
		{"trials missing", func(r *node) { delete(r.groups, "trials") },
			[]want{{"/trials", "group missing"}}, ErrSchema},
		{"no trials", func(r *node) { r.groups["trials"] = newNode() },
			[]want{{"/trials", "no trials"}}, ErrSchema},
		{"trial is a dataset", func(r *node) { r.at("trials").dsets["2"] = f32([]int{1}, seq(1, 0)) },
			[]want{{"/trials/2", "is a dataset, want a group per trial"}}, ErrSchema},
		{"tier unknown", func(r *node) { r.at("trials/0").attrs["tier"] = "oracle" },
			[]want{{"/trials/0", `attribute tier = "oracle", want train, validation or test`}}, ErrSchema},
		{"video missing", func(r *node) { delete(r.at("trials/1").attrs, "video") },
			[]want{{"/trials/1", "attribute video missing"}}, ErrSchema},
		{"video absolute", func(r *node) { r.at("trials/1").attrs["video"] = "/data/v.mp4" },
			[]want{{"/trials/1", "is absolute"}}, ErrSchema},
		{"stimulus empty", func(r *node) { r.at("trials/1").attrs["stimulus"] = "" },
			[]want{{"/trials/1", "attribute stimulus is empty"}}, ErrSchema},
		{"domain number", func(r *node) { r.at("trials/1").attrs["domain"] = 3.0 },
			[]want{{"/trials/1", "attribute domain is float64 scalar, want a string"}}, ErrSchema},
		{"responses missing", func(r *node) { delete(r.at("trials/0").dsets, "responses") },
			[]want{{"/trials/0/responses", "dataset missing, want float32 [T,U]"}}, ErrSchema},
		{"responses float64", func(r *node) {
			r.at("trials/0").dsets["responses"] = dset{dims: []int{5, 3}, f64: make([]float64, 15)}
		}, []want{{"/trials/0/responses", "dtype float64, want float32"}}, ErrSchema},
		{"responses rank 1", func(r *node) { r.at("trials/0").dsets["responses"] = f32([]int{15}, seq(15, 0)) },
			[]want{{"/trials/0/responses", "shape [15], want float32 [T,U]"}}, ErrSchema},
		{"responses U differs", func(r *node) { r.at("trials/0").dsets["responses"] = f32([]int{5, 4}, seq(20, 0)) },
			[]want{{"/trials/0/responses", "4 units (shape [5,4]), /units/id has 3"}}, ErrSchema},
		{"responses no frames", func(r *node) { r.at("trials/0").dsets["responses"] = f32([]int{0, 3}, []float32{}) },
			[]want{{"/trials/0/responses", "no frames"}}, ErrSchema},
		{"pupil T differs", func(r *node) { r.at("trials/0").dsets["pupil"] = f32([]int{4}, seq(4, 0)) },
			[]want{{"/trials/0/pupil", "4 frames, responses has 5"}}, ErrSchema},
		{"running missing", func(r *node) { delete(r.at("trials/1").dsets, "running") },
			[]want{{"/trials/1/running", "dataset missing"}}, ErrSchema},
		{"eye 3 columns", func(r *node) { r.at("trials/1").dsets["eye"] = f32([]int{4, 3}, seq(12, 0)) },
			[]want{{"/trials/1/eye", "shape [4,3], want float32 [T,2]"}}, ErrSchema},
		{"eye is a group", func(r *node) { delete(r.at("trials/1").dsets, "eye"); r.at("trials/1").groups["eye"] = newNode() },
			[]want{{"/trials/1/eye", "is a group, want a dataset float32 [T,2]"}}, ErrSchema},
		{"pupil +Inf", func(r *node) { r.at("trials/1").dsets["pupil"].f32[3] = float32(math.Inf(1)) },
			[]want{{"/trials/1/pupil", "1 ±Inf value (first at frame 3); use NaN"}}, nil},
		{"responses -Inf", func(r *node) {
			xs := r.at("trials/0").dsets["responses"].f32
			xs[3*3+2], xs[4*3] = float32(math.Inf(-1)), float32(math.Inf(1))
		}, []want{{"/trials/0/responses", "2 ±Inf values (first at frame 3, unit row 2)"}}, nil},
		{"eye Inf", func(r *node) { r.at("trials/0").dsets["eye"].f32[9] = float32(math.Inf(1)) },
			[]want{{"/trials/0/eye", "first at frame 4, column 1"}}, nil},
		{"several at once", func(r *node) {
			r.at("units").dsets["id"].i64[1] = 7
			r.at("trials/0").attrs["tier"] = "training"
			r.at("trials/1").dsets["running"].f32[0] = float32(math.Inf(1))
			r.attrs["rate_hz"] = -1.0
		}, []want{
			{"/", "rate_hz = -1"},
			{"/units/id", "duplicate unit id"},
			{"/trials/0", `tier = "training"`},
			{"/trials/1/running", "±Inf"},
		}, ErrSchema},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := validTree()
			c.damage(root)
			path := writeTree(t, dir, strings.ReplaceAll(c.name, " ", "_")+".h5", root)
			_, problems := Validate(path)
			checkProblems(t, path, problems, c.wants)

			f, err := Open(path)
			if c.kind == nil {
				if err != nil {
					t.Fatalf("Open: %v, want success (value problems are Validate's)", err)
				}
				f.Close()
				return
			}
			if err == nil {
				f.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if !errors.Is(err, c.kind) {
				t.Errorf("Open error %q does not wrap %v", err, c.kind)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, path+": ") || strings.Contains(msg, "\n") {
				t.Errorf("Open error %q: want one line starting with the path", msg)
			}
		})
	}
}

// TestOpenCountsProblems checks that Open's error, the first problem, says how many
// structural problems follow.
func TestOpenCountsProblems(t *testing.T) {
	root := validTree()
	root.attrs["rate_hz"] = -1.0
	root.at("units").dsets["id"].i64[1] = 7
	root.at("trials/0").attrs["tier"] = "training"
	path := writeTree(t, t.TempDir(), "three.h5", root)
	_, err := Open(path)
	want := path + ": /: attribute rate_hz = -1, want a finite frame rate > 0 (Hz) (and 2 more problems; Validate lists them all)"
	if err == nil || err.Error() != want {
		t.Errorf("Open error\n%v\nwant\n%s", err, want)
	}
}

// TestValidateAcceptsVariants checks files that differ from what the Writer produces
// but follow the format: they must validate cleanly and open.
func TestValidateAcceptsVariants(t *testing.T) {
	cases := []struct {
		name   string
		change func(root *node)
	}{
		{"as written", func(*node) {}},
		{"version int32", func(r *node) { r.attrs["version"] = int32(1) }},
		{"rate_hz integer", func(r *node) { r.attrs["rate_hz"] = int64(30) }},
		{"rate_hz float32", func(r *node) { r.attrs["rate_hz"] = float32(30) }},
		{"no positions", func(r *node) { delete(r.at("units").dsets, "position_um") }},
		{"NaN everywhere allowed", func(r *node) {
			for _, name := range []string{"responses", "pupil", "running", "eye"} {
				xs := r.at("trials/0").dsets[name].f32
				for i := range xs {
					xs[i] = float32(math.NaN())
				}
			}
		}},
		{"unknown objects", func(r *node) {
			truth := newNode()
			truth.dsets["rf_center"] = dset{dims: []int{3, 2}, f64: make([]float64, 6)}
			r.at("units").groups["truth"] = truth
			r.at("trials/0").dsets["rate"] = f32([]int{5, 3}, seq(15, 0))
			r.at("trials/0").attrs["bbox"] = [2]float64{1, 2}
			r.groups["meta"] = newNode()
			r.attrs["created_by"] = "a test"
		}},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := validTree()
			c.change(root)
			path := writeTree(t, dir, strings.ReplaceAll(c.name, " ", "_")+".h5", root)
			rec, problems := Validate(path)
			checkProblems(t, path, problems, nil)
			if rec == nil || len(rec.Trials) != 2 || rec.RateHz != 30 {
				t.Fatalf("recording %+v, want 2 trials at 30 Hz", rec)
			}
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.ReadTrial("1"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestValidateBrokenFiles covers files that are not (complete) HDF5 files.
func TestValidateBrokenFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.h5")
	rng := rand.New(rand.NewPCG(1, 2))
	writeFile(t, good, testRecording(4, false), testTrial(rng, "0", 10, 4, data.TierTrain))
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name   string
		path   string
		phrase string
		kind   error
	}{
		{"missing", filepath.Join(dir, "absent.h5"), "cannot open: no such file or directory", fs.ErrNotExist},
		{"folder", dir, "is a folder", ErrNotHDF5},
		{"empty", write("empty.h5", nil), "empty file (0 bytes)", ErrNotHDF5},
		{"text", write("notes.h5", []byte("mouse,session\n7,4\n")), "no HDF5 signature: not an HDF5 file", ErrNotHDF5},
		{"npy", write("r.npy", []byte("\x93NUMPY\x01\x00v\x00{'descr': '<f4'}")), "not an HDF5 file", ErrNotHDF5},
		{"truncated end", write("cut_end.h5", raw[:len(raw)-100]), "truncated: the file is shorter than its HDF5 superblock says", ErrTruncated},
		{"truncated half", write("cut_half.h5", raw[:len(raw)/2]), "truncated", ErrTruncated},
		{"superblock garbled", write("garbled.h5", garble(raw)), "HDF5 cannot open it", ErrCorrupt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec, problems := Validate(c.path)
			if rec != nil {
				t.Errorf("recording %+v, want nil", rec)
			}
			checkProblems(t, c.path, problems, []want{{"", c.phrase}})
			f, err := Open(c.path)
			if err == nil {
				f.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, c.kind) {
				t.Errorf("Open error %q does not wrap %v", err, c.kind)
			}
			if !strings.HasPrefix(err.Error(), c.path+": ") {
				t.Errorf("Open error %q does not start with the path", err)
			}
		})
	}
}

// garble keeps the HDF5 signature but overwrites the rest of the superblock.
func garble(raw []byte) []byte {
	b := append([]byte(nil), raw...)
	for i := 8; i < 96 && i < len(b); i++ {
		b[i] = 0xff
	}
	return b
}

// TestInspectCounts checks the NaN counts against values placed by the test.
func TestInspectCounts(t *testing.T) {
	dir := t.TempDir()
	root := validTree()
	resp := root.at("trials/0").dsets["responses"].f32
	resp[0], resp[7], resp[14] = float32(math.NaN()), float32(math.NaN()), float32(math.NaN())
	root.at("trials/0").dsets["eye"].f32[1] = float32(math.NaN())
	path := writeTree(t, dir, "nan.h5", root)
	in := Inspect(path)
	checkProblems(t, path, in.Problems, nil)
	wantStats := []TrialStats{
		{ID: "0", Frames: 5, Responses: Counts{Total: 15, NaN: 3}, Pupil: Counts{Total: 5}, Running: Counts{Total: 5}, Eye: Counts{Total: 10, NaN: 1}},
		{ID: "1", Frames: 4, Responses: Counts{Total: 12}, Pupil: Counts{Total: 4, NaN: 1}, Running: Counts{Total: 4}, Eye: Counts{Total: 8}},
	}
	if len(in.Trials) != len(wantStats) {
		t.Fatalf("%d trial stats, want %d", len(in.Trials), len(wantStats))
	}
	for i, w := range wantStats {
		if in.Trials[i] != w {
			t.Errorf("trial %d stats %+v, want %+v", i, in.Trials[i], w)
		}
	}
	if got := in.Trials[0].Responses.NaNFraction(); got != 0.2 {
		t.Errorf("NaN fraction %v, want 3/15 = 0.2", got)
	}
}

// TestInspectLongTrial checks that block-wise scanning counts across block boundaries:
// 3 units × 400,000 frames spans two blocks of blockValues.
func TestInspectLongTrial(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 5 MB file")
	}
	const T, U = 400_000, 3
	root := validTree()
	tr := root.at("trials/0")
	resp := make([]float32, T*U)
	resp[blockValues/U*U-1] = float32(math.NaN()) // last value of the first block
	resp[blockValues/U*U] = float32(math.NaN())   // first value of the second block
	resp[(T-1)*U+2] = float32(math.Inf(1))
	tr.dsets["responses"] = f32([]int{T, U}, resp)
	tr.dsets["pupil"] = f32([]int{T}, make([]float32, T))
	tr.dsets["running"] = f32([]int{T}, make([]float32, T))
	tr.dsets["eye"] = f32([]int{T, 2}, make([]float32, 2*T))
	path := writeTree(t, t.TempDir(), "long.h5", root)
	in := Inspect(path)
	checkProblems(t, path, in.Problems, []want{{"/trials/0/responses", "1 ±Inf value (first at frame 399999, unit row 2)"}})
	if c := in.Trials[0].Responses; c.NaN != 2 || c.Inf != 1 || c.Total != T*U {
		t.Errorf("counts %+v, want 2 NaN, 1 Inf of %d", c, T*U)
	}
}

// TestNaturalCompare pins the trial order: digit runs compare by value.
func TestNaturalCompare(t *testing.T) {
	for _, c := range []struct {
		a, b string
		sign int
	}{
		{"2", "10", -1},
		{"10", "2", 1},
		{"a2", "a10", -1},
		{"a10b", "a10a", 1},
		{"b", "10", 1},
		{"001", "1", -1}, // equal values: byte order decides, so the order is total
		{"7", "7", 0},
		{"trial", "trial1", -1},
	} {
		if got := naturalCompare(c.a, c.b); (got > 0) != (c.sign > 0) || (got < 0) != (c.sign < 0) {
			t.Errorf("naturalCompare(%q, %q) = %d, want sign %d", c.a, c.b, got, c.sign)
		}
	}
}
