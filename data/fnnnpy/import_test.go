package fnnnpy

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/data/h5"
	"github.com/fmcore/fmcore/data/internal/importtest"
	"github.com/fmcore/fmcore/data/video"
)

// fixture is the committed tree (scripts/make_import_fixtures.py).
const fixture = "testdata/fnn"

// TestImportRoundTrip imports the fixture tree and compares every array of every trial
// with the source files, read independently with npyio.
func TestImportRoundTrip(t *testing.T) {
	session := data.SessionID{Mouse: "17797", Session: "8-5"}
	tr, err := Open(fixture, session)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	sum, err := tr.Import(context.Background(), out, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := h5.Open(sum.Recording)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rec := r.Recording()
	if rec.Session != session || rec.RateHz != RateHz || filepath.Base(sum.Recording) != "17797-8-5.h5" {
		t.Errorf("%s: session %v at %g Hz, want %v at 30 Hz in 17797-8-5.h5", sum.Recording, rec.Session, rec.RateHz, session)
	}
	if !slices.Equal(rec.Units.ID, []int64{0, 1, 2, 3, 4}) || rec.Units.Area[0] != Area || rec.Units.PositionUM != nil {
		t.Errorf("units %+v, want ids 0..4 (the column index), area %s, no positions", rec.Units, Area)
	}
	want := map[string]struct {
		tier     data.Tier
		frames   int
		stimulus string // "" for a content hash
	}{
		"0": {data.TierTrain, 20, ""}, "1": {data.TierTrain, 26, ""}, "2": {data.TierValidation, 22, ""},
		"10":       {data.TierTrain, 24, ""},
		"test-a-0": {data.TierTest, 20, "a"}, "test-a-1": {data.TierTest, 20, "a"}, "test-a-2": {data.TierTest, 20, "a"},
		"test-b-0": {data.TierTest, 20, "b"}, "test-b-1": {data.TierTest, 20, "b"},
	}
	var ids []string
	videoOf := map[string]string{}
	for _, info := range rec.Trials {
		ids = append(ids, info.ID)
		w, ok := want[info.ID]
		if !ok {
			t.Errorf("unexpected trial %s", info.ID)
			continue
		}
		if info.Tier != w.tier || info.Frames != w.frames || (w.stimulus != "" && info.Stimulus != w.stimulus) {
			t.Errorf("trial %s: tier %s, %d frames, stimulus %s; want %s, %d, %q", info.ID, info.Tier, info.Frames, info.Stimulus, w.tier, w.frames, w.stimulus)
		}
		if w.stimulus != "" {
			if prev, ok := videoOf[w.stimulus]; ok && prev != info.Video {
				t.Errorf("trial %s: video %s, want %s like the other repeats of %s", info.ID, info.Video, prev, w.stimulus)
			}
			videoOf[w.stimulus] = info.Video
			if info.Labels[labelVideo] != w.stimulus || info.Labels[labelRepeat] == "" {
				t.Errorf("trial %s: labels %v, want %s = %s and a %s", info.ID, info.Labels, labelVideo, w.stimulus, labelRepeat)
			}
		}
		x, err := r.ReadTrial(info.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkTrial(t, tr, out, x)
	}
	if len(ids) != len(want) {
		t.Errorf("trials %v, want %d", ids, len(want))
	}
	// 4 training trials + 2 evaluation videos: 6 stimuli, of which a and b repeat.
	if sum.Stimuli != 6 || sum.Repeated != 2 || sum.MinRepeat != 2 || sum.MaxRepeat != 3 || sum.Videos != 6 || sum.NewVideos != 6 {
		t.Errorf("summary %+v, want 6 stimuli (2 repeated 2 to 3 times) in 6 new videos", sum)
	}
}

// checkTrial compares one imported trial with its source files.
func checkTrial(t *testing.T, tree *Tree, out string, x *data.Trial) {
	t.Helper()
	var src func(kind string) string
	if v, r, ok := strings.Cut(strings.TrimPrefix(x.ID, evalPrefix), "-"); strings.HasPrefix(x.ID, evalPrefix) && ok {
		src = func(kind string) string { return filepath.Join(tree.Dir, dirEval, kind, v, r+".npy") }
	} else {
		src = func(kind string) string { return filepath.Join(tree.Dir, kind, x.ID+".npy") }
	}
	T, U := x.Frames, tree.Units
	units, per, mod := importtest.Load(t, src(dirUnits)), importtest.Load(t, src(dirPerspectives)), importtest.Load(t, src(dirModulations))
	for i := range T {
		for u := range U {
			if got, want := float64(x.Responses[i*U+u]), units.At(i, u); !importtest.SameFloat(got, want) {
				t.Fatalf("trial %s: response of unit %d at frame %d is %v, want %v", x.ID, u, i, got, want)
			}
		}
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"eye x", float64(x.Eye[2*i]), per.At(i, 0)},
			{"eye y", float64(x.Eye[2*i+1]), per.At(i, 1)},
			{"pupil", float64(x.Pupil[i]), mod.At(i, 0)},
			{"running", float64(x.Running[i]), mod.At(i, 1)},
		} {
			if !importtest.SameFloat(c.got, c.want) {
				t.Fatalf("trial %s: %s at frame %d is %v, want %v", x.ID, c.name, i, c.got, c.want)
			}
		}
	}
	stim := importtest.LoadBytes(t, src(dirStimuli))
	frames, n, err := video.ReadAll(context.Background(), filepath.Join(out, x.Video), video.Params{Width: tree.Width, Height: tree.Height, RateHz: RateHz})
	if err != nil {
		t.Fatal(err)
	}
	// The stimuli are bytes already and the mp4 is lossless: equal, byte for byte.
	if n != T || !bytes.Equal(frames, stim) {
		t.Fatalf("trial %s: video %s decodes to %d frames that differ from %s", x.ID, x.Video, n, src(dirStimuli))
	}
	if x.Params[ParamVideoOffset] != 0 || x.Params[ParamVideoScale] != 1 {
		t.Errorf("trial %s: params %v, want offset 0, scale 1", x.ID, x.Params)
	}
}

// TestTrainingTrialShowingAnEvaluationVideo checks that a training trial whose frames
// equal an evaluation video shares that video's stimulus id and mp4.
func TestTrainingTrialShowingAnEvaluationVideo(t *testing.T) {
	dir := importtest.CopyTree(t, fixture)
	b, err := os.ReadFile(filepath.Join(dir, dirEval, dirStimuli, "a", "0.npy"))
	if err != nil {
		t.Fatal(err)
	}
	// Trial 0 has 20 frames, as clip a does.
	if err := os.WriteFile(filepath.Join(dir, dirStimuli, "0.npy"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	tree, err := Open(dir, SessionOf(dir))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := tree.Import(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := h5.Open(sum.Recording)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	info := map[string]data.TrialInfo{}
	for _, ti := range r.Recording().Trials {
		info[ti.ID] = ti
	}
	if info["0"].Stimulus != "a" || info["0"].Video != info["test-a-0"].Video || info["0"].Tier != data.TierTrain {
		t.Errorf("trial 0: stimulus %s, video %s, tier %s; want a, %s, train", info["0"].Stimulus, info["0"].Video, info["0"].Tier, info["test-a-0"].Video)
	}
	if sum.Videos != 5 || sum.MaxRepeat != 4 {
		t.Errorf("%d videos, at most %d trials per stimulus; want 5 and 4", sum.Videos, sum.MaxRepeat)
	}
}

// TestImportRerun checks that a second import reuses every video and writes a
// byte-identical recording.
func TestImportRerun(t *testing.T) {
	tree, err := Open(fixture, SessionOf(fixture))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	first, err := tree.Import(context.Background(), out, nil)
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(first.Recording)
	second, err := tree.Import(context.Background(), out, nil)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(second.Recording)
	if second.NewVideos != 0 || second.Videos != first.Videos || !bytes.Equal(b1, b2) {
		t.Errorf("rerun: %d new videos of %d, same recording %v; want 0 of %d, true", second.NewVideos, second.Videos, bytes.Equal(b1, b2), first.Videos)
	}
}

// TestImportCancel cancels an import after its third trial: it must return the
// context's error and leave neither a recording nor a video behind.
func TestImportCancel(t *testing.T) {
	tree, err := Open(fixture, SessionOf(fixture))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = tree.Import(ctx, out, func(done, total int) {
		if done == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	importtest.AssertNoOutput(t, out)
}

func TestNaturalOrder(t *testing.T) {
	names := []string{"10", "2", "b", "a10", "a2", "1", "a", "test-a-10", "test-a-9"}
	sortNatural(names)
	want := []string{"1", "2", "10", "a", "a2", "a10", "b", "test-a-9", "test-a-10"}
	if !slices.Equal(names, want) {
		t.Errorf("sortNatural = %v, want %v", names, want)
	}
}
