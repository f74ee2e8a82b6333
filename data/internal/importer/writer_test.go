package importer

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/data/h5"
	"github.com/fmcore/fmcore/data/video"
)

// The clip size of the tests: 9×16 like the importers' fixtures, 4 frames.
const (
	testH, testW, testT = 9, 16, 4
	testU               = 2
)

// clip returns frames [T,H,W] whose bytes depend on seed.
func clip(seed int) []byte {
	b := make([]byte, testT*testH*testW)
	for t := range testT {
		for y := range testH {
			for x := range testW {
				b[(t*testH+y)*testW+x] = byte(t*31 + y*7 + x*3 + seed)
			}
		}
	}
	return b
}

func testRecording() data.Recording {
	return data.Recording{
		Session: data.SessionID{Mouse: "m1", Session: "1"}, RateHz: 30,
		Units: data.Units{ID: []int64{7, 9}, Area: []string{"V1", "V1"}},
	}
}

// trial returns a trial of testT frames showing the video name.
func trial(id, name string, tier data.Tier) *data.Trial {
	return &data.Trial{
		TrialInfo: data.TrialInfo{
			ID: id, Video: VideoDir + "/" + name + ".mp4", Stimulus: name,
			Domain: data.DomainNatural, Tier: tier, Frames: testT,
		},
		Responses: make([]float32, testT*testU),
		Pupil:     make([]float32, testT),
		Running:   make([]float32, testT),
		Eye:       make([]float32, 2*testT),
	}
}

// TestWriter writes three trials, two of which show the same frames, and checks the
// names, the counts, the recording and the decoded videos.
func TestWriter(t *testing.T) {
	out := t.TempDir()
	w, err := Create("src", out, testRecording())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	a, b := clip(0), clip(100)
	var names []string
	for i, c := range []struct {
		frames []byte
		tier   data.Tier
	}{{a, data.TierTrain}, {b, data.TierTrain}, {a, data.TierTest}} {
		name, err := w.Video(c.frames, testT, testH, testW)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
		if err := w.WriteTrial(trial(string(rune('0'+i)), name, c.tier)); err != nil {
			t.Fatal(err)
		}
	}
	// The names are the content address that reruns and other recordings rely on:
	// hashlib.sha256(struct.pack('<III', W, H, T) + frames).hexdigest()[:16] in Python.
	if want := []string{"fdfcf6f3c390d1fd", "8ab1b5c5d5be964f", "fdfcf6f3c390d1fd"}; !slices.Equal(names, want) {
		t.Errorf("video names %v, want %v", names, want)
	}
	c, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := Counts{
		Trials:  map[data.Tier]int{data.TierTrain: 2, data.TierTest: 1},
		Frames:  map[data.Tier]int{data.TierTrain: 2 * testT, data.TierTest: testT},
		Stimuli: 2, Repeated: 1, MinRepeat: 2, MaxRepeat: 2, Videos: 2, NewVideos: 2,
	}
	if !sameCounts(c, want) {
		t.Errorf("counts %+v, want %+v", c, want)
	}
	r, err := h5.Open(RecordingPath(out, testRecording().Session))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n := len(r.Recording().Trials); n != 3 {
		t.Errorf("recording has %d trials, want 3", n)
	}
	for i, frames := range [][]byte{a, b} {
		got, n, err := video.ReadAll(context.Background(), filepath.Join(out, VideoDir, names[i]+".mp4"),
			video.Params{Width: testW, Height: testH, RateHz: 30})
		if err != nil {
			t.Fatal(err)
		}
		// The mp4 is lossless: the bytes come back exactly.
		if n != testT || !bytes.Equal(got, frames) {
			t.Errorf("video %s decodes to %d frames that differ from those written", names[i], n)
		}
	}
}

func sameCounts(a, b Counts) bool {
	if !maps.Equal(a.Trials, b.Trials) || !maps.Equal(a.Frames, b.Frames) {
		return false
	}
	a.Trials, a.Frames, b.Trials, b.Frames = nil, nil, nil, nil
	return reflect.DeepEqual(a, b)
}

// TestAbort checks that an aborted Writer leaves no recording and removes the videos it
// encoded, but keeps the ones that were there before.
func TestAbort(t *testing.T) {
	out := t.TempDir()
	first, err := Create("src", out, testRecording())
	if err != nil {
		t.Fatal(err)
	}
	old, err := first.Video(clip(0), testT, testH, testW)
	if err != nil {
		t.Fatal(err)
	}
	first.Abort()
	if _, err := os.Stat(filepath.Join(out, VideoDir, old+".mp4")); err == nil {
		t.Fatal("Abort left the video it encoded")
	}
	// Keep one video, as a previous import would have.
	keep, err := Create("src", out, testRecording())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keep.Video(clip(0), testT, testH, testW); err != nil {
		t.Fatal(err)
	}
	if err := keep.WriteTrial(trial("0", old, data.TierTrain)); err != nil {
		t.Fatal(err)
	}
	if _, err := keep.Close(); err != nil {
		t.Fatal(err)
	}
	keep.Abort() // a no-op after Close
	rec := RecordingPath(out, testRecording().Session)
	before, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}

	w, err := Create("src", out, testRecording())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Video(clip(0), testT, testH, testW); err != nil {
		t.Fatal(err)
	}
	added, err := w.Video(clip(100), testT, testH, testW)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteTrial(trial("0", added, data.TierTrain)); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	w.Abort() // twice is fine
	var files []string
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(out, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if want := []string{filepath.Base(rec), VideoDir + "/" + old + ".mp4"}; !slices.Equal(files, want) {
		t.Errorf("after Abort the folder holds %v, want %v", files, want)
	}
	if after, _ := os.ReadFile(rec); !bytes.Equal(before, after) {
		t.Error("Abort changed the recording already there")
	}
}

// TestReuse checks that a second Writer into the same folder references the videos there
// without encoding them again.
func TestReuse(t *testing.T) {
	out := t.TempDir()
	for run, wantNew := range []int{1, 0} {
		w, err := Create("src", out, testRecording())
		if err != nil {
			t.Fatal(err)
		}
		name, err := w.Video(clip(0), testT, testH, testW)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteTrial(trial("0", name, data.TierTrain)); err != nil {
			t.Fatal(err)
		}
		c, err := w.Close()
		if err != nil {
			t.Fatal(err)
		}
		if c.Videos != 1 || c.NewVideos != wantNew {
			t.Errorf("run %d: %d videos, %d new; want 1, %d", run, c.Videos, c.NewVideos, wantNew)
		}
	}
}

func TestNotImported(t *testing.T) {
	for _, tc := range []struct {
		name   string
		counts map[string]int
		want   []string
	}{
		{"none", nil, []string{}},
		{"files and folders sorted", map[string]int{"meta/statistics/": 3, "config.json": 1, "data/videos/.DS_Store": 1},
			[]string{"config.json", "data/videos/.DS_Store", "meta/statistics/ (3 files)"}},
		{"a folder of one file", map[string]int{"extra/": 1}, []string{"extra/ (1 files)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NotImported(tc.counts); !slices.Equal(got, tc.want) {
				t.Errorf("NotImported(%v) = %q, want %q", tc.counts, got, tc.want)
			}
		})
	}
}
