package h5

import (
	"bytes"
	"errors"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fmcore/fmcore/data"
)

// TestRoundTrip writes recordings with the Writer and reads them back: header, every
// trial's arrays bit for bit (NaN included), parameters, labels and extras.
func TestRoundTrip(t *testing.T) {
	cases := []struct {
		name      string
		units     int
		positions bool
		frames    []int // T per trial
		extras    bool
	}{
		{"one unit one frame", 1, false, []int{1}, false},
		{"positions absent", 5, false, []int{7, 3, 12}, false},
		{"positions present", 5, true, []int{7, 3, 12}, false},
		{"extras", 6, true, []int{4, 9}, true},
		{"several chunks", 2048, false, []int{70}, false}, // 32 frames per chunk
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			path := filepath.Join(t.TempDir(), "rec.h5")
			rec := testRecording(c.units, c.positions)
			var trials []*data.Trial
			tiers := []data.Tier{data.TierTrain, data.TierValidation, data.TierTest}
			for j, T := range c.frames {
				tr := testTrial(rng, []string{"10", "2", "b"}[j], T, c.units, tiers[j])
				if j == 0 {
					tr.Params = map[string]float64{"orientation": 22.5, "speed": -1e-3, "missing": math.NaN()}
					tr.Labels = map[string]string{"original_tier": "oracle", "note": "Größe α"}
				}
				trials = append(trials, tr)
			}
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
			U := c.units
			classes := make([]string, U)
			ints := make([]int64, 2*U)
			for u := range classes {
				classes[u] = []string{"on", "off", "on-off"}[u%3]
				ints[2*u], ints[2*u+1] = int64(u), -int64(u)<<40
			}
			centres := seq(2*U, -3)
			rate := seq(c.frames[0]*U, 1)
			if c.extras {
				for _, err := range []error{
					w.WriteUnitsExtra("rf_center", centres, U, 2),
					w.WriteUnitsExtraInts("pair", ints, U, 2),
					w.WriteUnitsExtraStrings("class", classes),
					w.WriteTrialExtra(trials[0].ID, "rate", rate, c.frames[0], U),
				} {
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}

			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got := f.Recording()
			if got.Session != rec.Session || got.RateHz != rec.RateHz {
				t.Errorf("session %v at %v Hz, want %v at %v Hz", got.Session, got.RateHz, rec.Session, rec.RateHz)
			}
			if !slices.Equal(got.Units.ID, rec.Units.ID) || !slices.Equal(got.Units.Area, rec.Units.Area) {
				t.Errorf("units %v %v, want %v %v", got.Units.ID, got.Units.Area, rec.Units.ID, rec.Units.Area)
			}
			if (got.Units.PositionUM == nil) != !c.positions || !sameFloats(got.Units.PositionUM, rec.Units.PositionUM) {
				t.Errorf("positions %v, want %v", got.Units.PositionUM, rec.Units.PositionUM)
			}
			// Trials come back in natural order of their ids: "2" < "10" < "b".
			wantOrder := map[string]int{"2": 0, "10": 1, "b": 2}
			slices.SortFunc(trials, func(a, b *data.Trial) int { return wantOrder[a.ID] - wantOrder[b.ID] })
			if len(got.Trials) != len(trials) {
				t.Fatalf("%d trials, want %d", len(got.Trials), len(trials))
			}
			for j, tr := range trials {
				if !sameInfo(got.Trials[j], tr.TrialInfo) {
					t.Errorf("trial %d: info %+v, want %+v", j, got.Trials[j], tr.TrialInfo)
				}
				back, err := f.ReadTrial(tr.ID)
				if err != nil {
					t.Fatal(err)
				}
				checkTrial(t, back, tr)
			}
			if !c.extras {
				names, err := f.UnitsExtraNames()
				if err != nil || len(names) != 0 {
					t.Errorf("extra names %v, %v; want none", names, err)
				}
				return
			}
			names, err := f.UnitsExtraNames()
			if err != nil || !slices.Equal(names, []string{"class", "pair", "rf_center"}) {
				t.Errorf("extra names %v, %v; want class, pair, rf_center", names, err)
			}
			if v, dims, err := f.ReadUnitsExtra("rf_center"); err != nil || !sameFloats(v, centres) || !slices.Equal(dims, []int{U, 2}) {
				t.Errorf("rf_center %v %v %v, want %v [U,2]", v, dims, err, centres)
			}
			if v, dims, err := f.ReadUnitsExtraInts("pair"); err != nil || !slices.Equal(v, ints) || !slices.Equal(dims, []int{U, 2}) {
				t.Errorf("pair %v %v %v, want %v [U,2]", v, dims, err, ints)
			}
			if v, err := f.ReadUnitsExtraStrings("class"); err != nil || !slices.Equal(v, classes) {
				t.Errorf("class %v %v, want %v", v, err, classes)
			}
			if v, dims, err := f.ReadTrialExtra("10", "rate"); err != nil || !sameFloats(v, rate) || !slices.Equal(dims, []int{c.frames[0], U}) {
				t.Errorf("rate %v %v, want [T,U] values", dims, err)
			}
			// Typed reads refuse the wrong type instead of reinterpreting bytes.
			if _, _, err := f.ReadUnitsExtra("pair"); !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "dtype int64, want float32") {
				t.Errorf("float read of an int64 extra: %v, want a dtype error", err)
			}
			if _, err := f.ReadUnitsExtraStrings("nope"); !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "/units/truth/nope: dataset missing") {
				t.Errorf("missing extra: %v", err)
			}
		})
	}
}

func sameInfo(a, b data.TrialInfo) bool {
	sameParams := maps.EqualFunc(a.Params, b.Params, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
	return a.ID == b.ID && a.Video == b.Video && a.Stimulus == b.Stimulus && a.Domain == b.Domain &&
		a.Tier == b.Tier && a.Frames == b.Frames && sameParams && maps.Equal(a.Labels, b.Labels)
}

func checkTrial(t *testing.T, got, want *data.Trial) {
	t.Helper()
	if got.ID != want.ID || got.Frames != want.Frames {
		t.Fatalf("trial %s with %d frames, want %s with %d", got.ID, got.Frames, want.ID, want.Frames)
	}
	for _, a := range []struct {
		name      string
		got, want []float32
	}{{"responses", got.Responses, want.Responses}, {"pupil", got.Pupil, want.Pupil},
		{"running", got.Running, want.Running}, {"eye", got.Eye, want.Eye}} {
		if !sameFloats(a.got, a.want) {
			t.Errorf("trial %s: %s differs after the round trip", want.ID, a.name)
		}
	}
}

// TestAtomicWrite checks that the final path only ever holds a complete recording.
func TestAtomicWrite(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	rec := testRecording(3, false)
	trial := func(id string) *data.Trial { return testTrial(rng, id, 4, 3, data.TierTrain) }

	// setup writes an old recording at path and returns its bytes.
	setup := func(t *testing.T) (dir, path string, old []byte) {
		dir = t.TempDir()
		path = filepath.Join(dir, "rec.h5")
		writeFile(t, path, rec, trial("old"))
		old, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return dir, path, old
	}
	// unchanged asserts that path still holds old and that no temporary file is left.
	unchanged := func(t *testing.T, dir, path string, old []byte) {
		t.Helper()
		now, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(now, old) {
			t.Errorf("existing file changed (err %v)", err)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("folder holds %d entries, want only rec.h5: %v", len(entries), entries)
		}
	}

	t.Run("abort keeps the old file", func(t *testing.T) {
		dir, path, old := setup(t)
		w, err := Create(path, rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteTrial(trial("new")); err != nil {
			t.Fatal(err)
		}
		w.Abort()
		w.Abort() // a second Abort is a no-op
		unchanged(t, dir, path, old)
		if err := w.WriteTrial(trial("later")); err == nil {
			t.Error("WriteTrial after Abort succeeded")
		}
	})
	t.Run("rejected header leaves nothing", func(t *testing.T) {
		dir, path, old := setup(t)
		bad := testRecording(3, false)
		bad.Units.ID[2] = bad.Units.ID[0]
		if _, err := Create(path, bad); err == nil || !strings.Contains(err.Error(), "duplicate unit id") {
			t.Fatalf("Create: %v, want a duplicate id error", err)
		}
		unchanged(t, dir, path, old)
	})
	t.Run("rejected trial then abort", func(t *testing.T) {
		dir, path, old := setup(t)
		w, err := Create(path, rec)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		bad := trial("bad")
		bad.Pupil = bad.Pupil[:2]
		if err := w.WriteTrial(bad); err == nil {
			t.Fatal("WriteTrial accepted a short pupil array")
		}
		w.Abort()
		unchanged(t, dir, path, old)
	})
	t.Run("nothing under the final name before Close", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "fresh.h5")
		w, err := Create(path, rec)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		if err := w.WriteTrial(trial("0")); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("final path exists before Close (err %v)", err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err == nil {
			t.Error("second Close succeeded")
		}
		w.Abort() // no-op after Close: the file stays
		if _, problems := Validate(path); len(problems) != 0 {
			t.Errorf("problems after Close: %v", problems)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("final file mode %v (err %v), want 0644", fi.Mode(), err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("folder holds %v, want only fresh.h5", entries)
		}
	})
	t.Run("failed rename replaces nothing", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "rec.h5")
		w, err := Create(path, rec)
		if err != nil {
			t.Fatal(err)
		}
		// A non-empty folder appears at the final path: the rename must fail.
		if err := os.MkdirAll(filepath.Join(path, "x"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err == nil {
			t.Fatal("Close renamed over a folder")
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("folder holds %v, want only the rec.h5 folder (temporary file removed)", entries)
		}
	})
}

// TestWriterRejects checks what the Writer refuses, and that a refused trial leaves the
// file valid.
func TestWriterRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	header := func(change func(*data.Recording)) data.Recording {
		rec := testRecording(3, true)
		change(&rec)
		return rec
	}
	headers := []struct {
		name   string
		rec    data.Recording
		phrase string
	}{
		{"empty mouse", header(func(r *data.Recording) { r.Session.Mouse = "" }), "empty mouse id"},
		{"empty session", header(func(r *data.Recording) { r.Session.Session = "" }), "empty session id"},
		{"NaN rate", header(func(r *data.Recording) { r.RateHz = math.NaN() }), "rate_hz = NaN"},
		{"zero rate", header(func(r *data.Recording) { r.RateHz = 0 }), "rate_hz = 0"},
		{"no units", header(func(r *data.Recording) { r.Units = data.Units{} }), "no units"},
		{"areas short", header(func(r *data.Recording) { r.Units.Area = r.Units.Area[:2] }), "2 areas for 3 ids"},
		{"position NaN", header(func(r *data.Recording) { r.Units.PositionUM[5] = float32(math.NaN()) }), "position_um has 1 non-finite values (first in row 1)"},
	}
	dir := t.TempDir()
	for _, c := range headers {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "h.h5")
			_, err := Create(path, c.rec)
			if err == nil || !strings.Contains(err.Error(), c.phrase) || !strings.Contains(err.Error(), path) {
				t.Errorf("Create: %v, want an error naming %s containing %q", err, path, c.phrase)
			}
		})
	}
	if _, err := Create(dir, testRecording(3, false)); err == nil || !strings.Contains(err.Error(), "is a folder") {
		t.Errorf("Create over a folder: %v", err)
	}

	path := filepath.Join(dir, "rec.h5")
	w, err := Create(path, testRecording(3, false))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := w.WriteTrial(testTrial(rng, "0", 4, 3, data.TierTrain)); err != nil {
		t.Fatal(err)
	}
	trial := func(change func(*data.Trial)) *data.Trial {
		tr := testTrial(rng, "1", 4, 3, data.TierTest)
		change(tr)
		return tr
	}
	trials := []struct {
		name   string
		trial  *data.Trial
		phrase string
	}{
		{"short responses", trial(func(t *data.Trial) { t.Responses = t.Responses[:9] }), "responses has 9 values, want T×U = 4×3"},
		{"bad tier", trial(func(t *data.Trial) { t.Tier = "oracle" }), `tier "oracle"`},
		{"duplicate id", trial(func(t *data.Trial) { t.ID = "0" }), "trial 0: written twice"},
		{"slash in id", trial(func(t *data.Trial) { t.ID = "a/b" }), `trial id "a/b"`},
		{"empty video", trial(func(t *data.Trial) { t.Video = "" }), "empty video"},
		{"absolute video", trial(func(t *data.Trial) { t.Video = "/v/1.mp4" }), "is absolute"},
		{"empty domain", trial(func(t *data.Trial) { t.Domain = "" }), "empty domain"},
		{"Inf response", trial(func(t *data.Trial) { t.Responses[7] = float32(math.Inf(1)) }), "responses holds ±Inf at frame 2"},
		{"Inf eye", trial(func(t *data.Trial) { t.Eye[7] = float32(math.Inf(-1)) }), "eye holds ±Inf at frame 3"},
		{"reserved param", trial(func(t *data.Trial) { t.Params = map[string]float64{"tier": 1} }), `"tier" clashes`},
		{"param and label", trial(func(t *data.Trial) {
			t.Params = map[string]float64{"x": 1}
			t.Labels = map[string]string{"x": "1"}
		}), `"x" is both a parameter and a label`},
	}
	for _, c := range trials {
		t.Run(c.name, func(t *testing.T) {
			err := w.WriteTrial(c.trial)
			if err == nil || !strings.Contains(err.Error(), c.phrase) || !strings.Contains(err.Error(), path) {
				t.Errorf("WriteTrial: %v, want an error naming %s containing %q", err, path, c.phrase)
			}
		})
	}
	extras := []struct {
		name   string
		err    error
		phrase string
	}{
		{"unit extra wrong rows", w.WriteUnitsExtra("x", seq(8, 0), 4, 2), "first dimension 4, want U = 3"},
		{"unit extra wrong count", w.WriteUnitsExtra("x", seq(5, 0), 3, 2), "5 values for dimensions [3,2]"},
		{"unit extra strings", w.WriteUnitsExtraStrings("class", []string{"a"}), "first dimension 1, want U = 3"},
		{"unit extra bad name", w.WriteUnitsExtraInts("a/b", []int64{1, 2, 3}), `dataset name "a/b"`},
		{"trial extra unknown trial", w.WriteTrialExtra("9", "rate", seq(12, 0), 4, 3), "/trials/9/rate"},
		{"trial extra reserved", w.WriteTrialExtra("0", "pupil", seq(4, 0)), "reserved"},
		{"trial extra wrong T", w.WriteTrialExtra("0", "rate", seq(15, 0), 5, 3), "first dimension 5, want T = 4"},
	}
	for _, c := range extras {
		t.Run(c.name, func(t *testing.T) {
			if c.err == nil || !strings.Contains(c.err.Error(), c.phrase) {
				t.Errorf("got %v, want an error containing %q", c.err, c.phrase)
			}
		})
	}
	if err := w.WriteUnitsExtra("x", seq(3, 0)); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteUnitsExtra("x", seq(3, 0)); err == nil || !strings.Contains(err.Error(), "already written") {
		t.Errorf("second write of an extra: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rec, problems := Validate(path)
	if len(problems) != 0 || len(rec.Trials) != 1 {
		t.Errorf("after refused writes: %d trials, problems %v; want 1 trial, none", len(rec.Trials), problems)
	}
}
