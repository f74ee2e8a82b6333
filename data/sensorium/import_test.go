package sensorium

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/data/h5"
	"github.com/fmcore/fmcore/data/internal/importtest"
	"github.com/fmcore/fmcore/data/video"
)

// The committed fixture folders (scripts/make_import_fixtures.py).
const (
	fixtureA = "testdata/dynamic10001-1-2-Video-fixtureA"
	fixtureB = "testdata/dynamic10002-3-4-Video-fixtureB"
)

// TestImportRoundTrip imports both fixture mice and compares every array of every
// trial with the source files, read independently with npyio.
func TestImportRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		dir      string
		session  data.SessionID
		tiers    map[string]data.Tier // trial id → tier; trials not listed must be absent
		frames   map[string]int       // trial id → T after cutting the padding
		repeats  [][]string           // groups of trials that share one stimulus
		identity bool                 // whether the video values import one to one
		cut      int
	}{
		{
			dir:     fixtureA,
			session: data.SessionID{Mouse: "10001", Session: "1-2"},
			tiers: map[string]data.Tier{"0": data.TierTrain, "1": data.TierTrain, "2": data.TierValidation,
				"3": data.TierValidation, "4": data.TierTest, "5": data.TierTest},
			frames:   map[string]int{"0": 24, "1": 24, "2": 24, "3": 24, "4": 18, "5": 24},
			repeats:  [][]string{{"2", "3"}, {"0"}, {"1"}, {"4"}, {"5"}},
			identity: true,
			cut:      6,
		},
		{
			dir:      fixtureB,
			session:  data.SessionID{Mouse: "10002", Session: "3-4"},
			tiers:    map[string]data.Tier{"0": data.TierTrain, "1": data.TierTrain, "2": data.TierValidation, "3": data.TierValidation},
			frames:   map[string]int{"0": 20, "1": 20, "2": 20, "3": 20},
			repeats:  [][]string{{"2", "3"}, {"0"}, {"1"}},
			identity: false,
		},
	} {
		t.Run(filepath.Base(tc.dir), func(t *testing.T) {
			f, err := Open(tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			sum, err := f.Import(context.Background(), out, nil)
			if err != nil {
				t.Fatal(err)
			}
			if sum.CutFrames != tc.cut || sum.CutValues != 0 || sum.Clipped != 0 {
				t.Errorf("cut %d frames, %d values, clipped %d; want %d, 0, 0", sum.CutFrames, sum.CutValues, sum.Clipped, tc.cut)
			}
			if got := sum.Scaling == (Scaling{0, 1}); got != tc.identity {
				t.Errorf("scaling %+v, identity %v, want %v", sum.Scaling, got, tc.identity)
			}
			r, err := h5.Open(sum.Recording)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			rec := r.Recording()
			if rec.Session != tc.session || rec.RateHz != RateHz {
				t.Errorf("session %v at %g Hz, want %v at 30 Hz", rec.Session, rec.RateHz, tc.session)
			}
			checkUnits(t, tc.dir, rec.Units)
			if len(rec.Trials) != len(tc.tiers) {
				t.Errorf("%d trials, want %d", len(rec.Trials), len(tc.tiers))
			}
			byID := map[string]data.TrialInfo{}
			for _, info := range rec.Trials {
				byID[info.ID] = info
				if info.Tier != tc.tiers[info.ID] || info.Frames != tc.frames[info.ID] {
					t.Errorf("trial %s: tier %s, %d frames; want %s, %d", info.ID, info.Tier, info.Frames, tc.tiers[info.ID], tc.frames[info.ID])
				}
				tr, err := r.ReadTrial(info.ID)
				if err != nil {
					t.Fatal(err)
				}
				checkTrial(t, tc.dir, out, tr)
			}
			for _, group := range tc.repeats {
				first := byID[group[0]]
				for _, id := range group[1:] {
					if byID[id].Stimulus != first.Stimulus || byID[id].Video != first.Video {
						t.Errorf("trial %s: stimulus %s, video %s; want those of trial %s: %s, %s", id, byID[id].Stimulus, byID[id].Video, group[0], first.Stimulus, first.Video)
					}
				}
			}
			mp4s, _ := filepath.Glob(filepath.Join(out, VideoDir, "*.mp4"))
			if len(mp4s) != len(tc.repeats) || sum.Videos != len(tc.repeats) || sum.Stimuli != len(tc.repeats) || sum.Repeated != 1 || sum.MaxRepeat != 2 {
				t.Errorf("%d mp4 files, summary %d videos, %d stimuli, %d repeated (max %d); want %d, %d, %d, 1 (2)",
					len(mp4s), sum.Videos, sum.Stimuli, sum.Repeated, sum.MaxRepeat, len(tc.repeats), len(tc.repeats), len(tc.repeats))
			}
		})
	}
}

// checkUnits compares the units table with meta/neurons.
func checkUnits(t *testing.T, dir string, u data.Units) {
	t.Helper()
	ids := importtest.LoadInts(t, filepath.Join(dir, fileUnitIDs))
	if !slices.Equal(u.ID, ids) {
		t.Errorf("unit ids %v, want %v", u.ID, ids)
	}
	coords := importtest.Load(t, filepath.Join(dir, fileCoords))
	if u.Len() != coords.Shape[0] || u.PositionUM == nil {
		t.Fatalf("%d units with positions %v, want %d", u.Len(), u.PositionUM != nil, coords.Shape[0])
	}
	for n := range u.Len() {
		if u.Area[n] != Area {
			t.Errorf("unit %d: area %q, want %q", n, u.Area[n], Area)
		}
		for k := range 3 {
			// position_um is float32: the float64 source rounds to the nearest float32.
			if want := float32(coords.At(n, k)); u.PositionUM[3*n+k] != want {
				t.Errorf("unit %d coordinate %d: %v, want %v", n, k, u.PositionUM[3*n+k], want)
			}
		}
	}
}

// checkTrial compares one imported trial with its source files.
func checkTrial(t *testing.T, dir, out string, tr *data.Trial) {
	t.Helper()
	T, U := tr.Frames, len(tr.Responses)/tr.Frames
	src := func(kind string) string { return filepath.Join(dir, kind, tr.ID+".npy") }
	if _, err := os.Stat(src(dirResponses)); err == nil {
		resp := importtest.Load(t, src(dirResponses))
		for i := range T {
			for n := range U {
				if got, want := float64(tr.Responses[i*U+n]), resp.At(n, i); !importtest.SameFloat(got, want) {
					t.Fatalf("trial %s: response of unit %d at frame %d is %v, want %v", tr.ID, n, i, got, want)
				}
			}
		}
	} else {
		for i, v := range tr.Responses {
			if !math.IsNaN(float64(v)) {
				t.Fatalf("trial %s without a responses file: value %d is %v, want NaN", tr.ID, i, v)
			}
		}
	}
	beh, pc := importtest.Load(t, src(dirBehavior)), importtest.Load(t, src(dirPupilCenter))
	for i := range T {
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"pupil", float64(tr.Pupil[i]), beh.At(0, i)},
			{"running", float64(tr.Running[i]), beh.At(1, i)},
			{"eye x", float64(tr.Eye[2*i]), pc.At(0, i)},
			{"eye y", float64(tr.Eye[2*i+1]), pc.At(1, i)},
		} {
			if !importtest.SameFloat(c.got, c.want) {
				t.Fatalf("trial %s: %s at frame %d is %v, want %v", tr.ID, c.name, i, c.got, c.want)
			}
		}
	}
	vid := importtest.Load(t, src(dirVideos))
	H, W := vid.Shape[0], vid.Shape[1]
	if vid.Shape[2] > T && !math.IsNaN(vid.At(0, 0, T)) {
		t.Errorf("trial %s: cut at frame %d, but the source frame there is not padding", tr.ID, T)
	}
	s := Scaling{Offset: tr.Params[ParamVideoOffset], Scale: tr.Params[ParamVideoScale]}
	if s.Scale <= 0 {
		t.Fatalf("trial %s: params %v lack a positive %s", tr.ID, tr.Params, ParamVideoScale)
	}
	if tr.Labels[labelTier] == "" {
		t.Errorf("trial %s: no %s label", tr.ID, labelTier)
	}
	frames, n, err := video.ReadAll(context.Background(), filepath.Join(out, tr.Video), video.Params{Width: W, Height: H, RateHz: RateHz})
	if err != nil {
		t.Fatal(err)
	}
	if n != T {
		t.Fatalf("trial %s: video has %d frames, want %d", tr.ID, n, T)
	}
	// Quantisation: a byte stands for values within half a step of Offset + Scale·byte;
	// the 1e-6 relative slack covers the float32 rounding of float64 sources.
	tol := s.Scale/2 + 1e-6*math.Max(1, math.Abs(s.Offset)+255*s.Scale)
	for i := range T {
		for y := range H {
			for x := range W {
				got, want := s.Value(frames[(i*H+y)*W+x]), vid.At(y, x, i)
				if math.Abs(got-want) > tol {
					t.Fatalf("trial %s: pixel (%d, %d) of frame %d decodes to %v, source %v (tolerance %v)", tr.ID, y, x, i, got, want, tol)
				}
			}
		}
	}
}

// TestImportRerun checks that a second import into the same folder reuses every video
// and writes a byte-identical recording.
func TestImportRerun(t *testing.T) {
	f, err := Open(fixtureA)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	first, err := f.Import(context.Background(), out, nil)
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(first.Recording)
	second, err := f.Import(context.Background(), out, nil)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(second.Recording)
	if first.NewVideos != 5 || second.NewVideos != 0 || second.Videos != 5 {
		t.Errorf("new videos %d then %d (of %d), want 5 then 0 (of 5)", first.NewVideos, second.NewVideos, second.Videos)
	}
	if !bytes.Equal(b1, b2) {
		t.Error("the rerun wrote a different recording")
	}
}

// TestImportCancel cancels an import after its first trial: it must return the
// context's error and leave neither a recording nor a video behind.
func TestImportCancel(t *testing.T) {
	f, err := Open(fixtureA)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls []int
	_, err = f.Import(ctx, out, func(done, total int) {
		calls = append(calls, done)
		if done == 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(calls) != 2 {
		t.Errorf("progress called %d times after cancelling at 2, want 2: %v", len(calls), calls)
	}
	importtest.AssertNoOutput(t, out)
}

func TestScaling(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   Scaling
	}{
		{0, 255, Scaling{0, 1}},
		{3, 200, Scaling{0, 1}}, // inside 0..255: grey levels stay as they are
		{-1, 1, Scaling{-1, 2.0 / 255}},
		{0, 510, Scaling{0, 2}},
		{300, 300, Scaling{300, 1}}, // a constant video outside 0..255
	} {
		t.Run(strconv.FormatFloat(tc.lo, 'g', -1, 64)+"_"+strconv.FormatFloat(tc.hi, 'g', -1, 64), func(t *testing.T) {
			s := ScalingFor(tc.lo, tc.hi)
			if math.Abs(s.Offset-tc.want.Offset) > 1e-12 || math.Abs(s.Scale-tc.want.Scale) > 1e-12 {
				t.Fatalf("ScalingFor = %+v, want %+v", s, tc.want)
			}
			// Every value in range comes back within half a step (float32 inputs: 1e-5 slack).
			for i := range 101 {
				v := tc.lo + (tc.hi-tc.lo)*float64(i)/100
				b, clipped := s.Byte(float32(v))
				if clipped || math.Abs(s.Value(b)-v) > s.Scale/2+1e-5 {
					t.Fatalf("%v → byte %d (clipped %v) → %v", v, b, clipped, s.Value(b))
				}
			}
		})
	}
	s := Scaling{0, 1}
	for _, tc := range []struct {
		v       float32
		b       byte
		clipped bool
	}{{-0.4, 0, false}, {-0.6, 0, true}, {255.4, 255, false}, {255.6, 255, true}, {127.5, 128, false}} {
		if b, c := s.Byte(tc.v); b != tc.b || c != tc.clipped {
			t.Errorf("Byte(%v) = %d, %v; want %d, %v", tc.v, b, c, tc.b, tc.clipped)
		}
	}
}
