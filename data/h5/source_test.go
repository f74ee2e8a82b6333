package h5_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/fmcore/fmcore/data"
	"github.com/fmcore/fmcore/data/h5"
	"github.com/fmcore/fmcore/data/video"
)

// These tests drive the data pipeline with the real adapters: a recording written by
// h5.Create and videos written by video.Create. The video side needs ffmpeg and is
// skipped without it (data/video's tests say why it is missing).

// codedRecording writes dir/<mouse>-4.h5 with one trial per length, all in the training
// tier, whose values encode their origin: responses[f,u] = (u+1)·(1 + f + 1000·i),
// pupil = 50 + f, running = f + 1000·i, eye = (f + 10·i, −f + 10·i), video
// videos/<i>.mp4.
func codedRecording(t testing.TB, dir, mouse string, U int, lengths []int) string {
	t.Helper()
	rec := data.Recording{Session: data.SessionID{Mouse: mouse, Session: "4"}, RateHz: 30,
		Units: data.Units{ID: make([]int64, U), Area: make([]string, U)}}
	for u := range U {
		rec.Units.ID[u], rec.Units.Area[u] = int64(u+1), "V1"
	}
	path := filepath.Join(dir, mouse+"-4.h5")
	w, err := h5.Create(path, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for i, T := range lengths {
		tr := &data.Trial{
			TrialInfo: data.TrialInfo{ID: strconv.Itoa(i), Video: fmt.Sprintf("videos/%d.mp4", i), Stimulus: "s" + strconv.Itoa(i),
				Domain: data.DomainNatural, Tier: data.TierTrain, Frames: T},
			Responses: make([]float32, T*U), Pupil: make([]float32, T), Running: make([]float32, T), Eye: make([]float32, 2*T),
		}
		for f := range T {
			for u := range U {
				tr.Responses[f*U+u] = float32((u + 1) * (1 + f + 1000*i))
			}
			tr.Pupil[f], tr.Running[f] = float32(50+f), float32(f+1000*i)
			tr.Eye[2*f], tr.Eye[2*f+1] = float32(f+10*i), float32(-f+10*i)
		}
		if err := w.WriteTrial(tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// lumaVideos writes dir/videos/<i>.mp4 for i < n: frames of w×h at 30 Hz whose frame k
// has luminance (k + 10·i) mod 256 everywhere.
func lumaVideos(t testing.TB, dir string, n, frames, w, h int) {
	t.Helper()
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not on $PATH: %v", bin, err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "videos"), 0o755); err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, w*h)
	for i := range n {
		e, err := video.Create(filepath.Join(dir, "videos", strconv.Itoa(i)+".mp4"), w, h, 30)
		if err != nil {
			t.Fatal(err)
		}
		for k := range frames {
			for p := range frame {
				frame[p] = byte((k + 10*i) % 256)
			}
			if err := e.WriteFrame(frame); err != nil {
				e.Abort()
				t.Fatal(err)
			}
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadWindow(t *testing.T) {
	path := codedRecording(t, t.TempDir(), "7", 3, []int{12, 9})
	f, err := h5.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var src data.TrialSource = f
	want, err := f.ReadTrialRange("1", 4, 5)
	if err != nil {
		t.Fatal(err)
	}
	var got data.Trial
	if err := src.ReadWindow(&got, "1", 4, 5); err != nil {
		t.Fatal(err)
	}
	if got.Frames != 5 || !slices.Equal(got.Responses, want.Responses) || !slices.Equal(got.Eye, want.Eye) ||
		got.Responses[0] != float32(1+4+1000) {
		t.Errorf("ReadWindow: %+v, want ReadTrialRange's %+v", got, want)
	}
	if err := src.ReadWindow(&got, "1", 5, 5); !errors.Is(err, h5.ErrRange) {
		t.Errorf("window past the end: %v, want ErrRange", err)
	}
}

func TestReadHeader(t *testing.T) {
	dir := t.TempDir()
	path := codedRecording(t, dir, "7", 3, []int{12, 9})
	rec, err := h5.ReadHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Session.String() != "7-4" || rec.Units.Len() != 3 || len(rec.Trials) != 2 || rec.Trials[1].Frames != 9 {
		t.Errorf("header %+v", rec)
	}
	junk := filepath.Join(dir, "junk.h5")
	if err := os.WriteFile(junk, []byte("not hdf5"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := h5.ReadHeader(junk); !errors.Is(err, h5.ErrNotHDF5) {
		t.Errorf("ReadHeader(junk): %v, want ErrNotHDF5", err)
	}
}

func TestFindSessionsWithReadHeader(t *testing.T) {
	dir := t.TempDir()
	codedRecording(t, dir, "2", 3, []int{5})
	codedRecording(t, dir, "10", 4, []int{5, 6})
	mice, err := data.FindSessions(dir, h5.ReadHeader)
	if err != nil {
		t.Fatal(err)
	}
	if len(mice) != 2 || mice[0].ID != "2" || mice[1].ID != "10" || mice[1].Sessions[0].Units != 4 || mice[1].Sessions[0].Trials != 2 {
		t.Errorf("mice %+v, want 2 then 10", mice)
	}
}

// TestLoaderOnRealFiles checks that windows loaded from a real recording and real
// videos are aligned: pixels, targets, eye and behaviour of every frame of a window
// come from the same frame of the same trial.
func TestLoaderOnRealFiles(t *testing.T) {
	dir := t.TempDir()
	const U = 3
	lengths := []int{40, 25, 33}
	path := codedRecording(t, dir, "7", U, lengths)
	lumaVideos(t, dir, len(lengths), 40, 16, 8)
	f, err := h5.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	s, err := data.Prepare(ctx, f, data.DefaultPrepareOptions())
	if err != nil {
		t.Fatal(err)
	}
	cache, err := video.NewCache(filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	frames, err := video.NewSource(cache, video.Params{Width: 16, Height: 8, RateHz: 30}, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer frames.Close()
	l, err := data.NewLoader(s, frames, data.LoaderConfig{Tier: data.TierTrain, Batch: 3, Window: 10, Prefetch: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	batches := 0
	for b, err := range l.Batches(ctx, 0, 12) {
		if err != nil {
			t.Fatal(err)
		}
		batches++
		hw := b.H * b.W
		for n := range b.N {
			i, _ := strconv.Atoi(b.Trials[n])
			for k := range b.T {
				fr, nk := b.Starts[n]+k, n*b.T+k
				if px := b.Frames[nk*hw]; px != byte(fr+10*i) {
					t.Fatalf("trial %d frame %d: pixel %d, want %d", i, fr, px, fr+10*i)
				}
				// Exact: the same float32 operations on the same stored values.
				for u := range U {
					if got, want := b.Targets[nk*U+u], float32((u+1)*(1+fr+1000*i))/st.ResponseScale[u]; got != want {
						t.Fatalf("trial %d frame %d unit %d: target %v, want %v", i, fr, u, got, want)
					}
				}
				if got, want := b.Eye[2*nk], st.EyeX.Apply(float32(fr+10*i)); got != want {
					t.Fatalf("trial %d frame %d: eye x %v, want %v", i, fr, got, want)
				}
				if got, want := b.Behavior[2*nk], st.Pupil.Apply(float32(50+fr)); got != want {
					t.Fatalf("trial %d frame %d: pupil %v, want %v", i, fr, got, want)
				}
			}
		}
	}
	if batches != 12 {
		t.Errorf("%d batches, want 12", batches)
	}
}

// BenchmarkLoader measures batches per second of N = 4 windows of T = 100 frames, U =
// 1000 units at 36×64 pixels (MODEL.md 7.7's batch and window; a small session), read
// from a real recording and cached videos. The consumer does nothing, so this is the
// loader's throughput with its prefetch goroutine.
func BenchmarkLoader(b *testing.B) {
	const U, T, trials, videos = 1000, 300, 8, 4
	dir := b.TempDir()
	rec := data.Recording{Session: data.SessionID{Mouse: "1", Session: "1"}, RateHz: 30,
		Units: data.Units{ID: make([]int64, U), Area: make([]string, U)}}
	for u := range U {
		rec.Units.ID[u], rec.Units.Area[u] = int64(u), "V1"
	}
	path := filepath.Join(dir, "1-1.h5")
	w, err := h5.Create(path, rec)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range trials {
		tr := &data.Trial{
			TrialInfo: data.TrialInfo{ID: strconv.Itoa(i), Video: fmt.Sprintf("videos/%d.mp4", i%videos), Stimulus: "s",
				Domain: data.DomainNatural, Tier: data.TierTrain, Frames: T},
			Responses: make([]float32, T*U), Pupil: make([]float32, T), Running: make([]float32, T), Eye: make([]float32, 2*T),
		}
		for k := range tr.Responses {
			tr.Responses[k] = float32(rng.ExpFloat64()) // deconvolved-activity-like, incompressible
		}
		for f := range T {
			tr.Pupil[f], tr.Running[f] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			tr.Eye[2*f], tr.Eye[2*f+1] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		if err := w.WriteTrial(tr); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	lumaVideos(b, dir, videos, T, 64, 36)
	f, err := h5.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	s, err := data.Prepare(ctx, f, data.DefaultPrepareOptions())
	if err != nil {
		b.Fatal(err)
	}
	cache, err := video.NewCache(filepath.Join(dir, "cache"))
	if err != nil {
		b.Fatal(err)
	}
	frames, err := video.NewSource(cache, video.Params{Width: 64, Height: 36, RateHz: 30}, 8)
	if err != nil {
		b.Fatal(err)
	}
	defer frames.Close()
	buf := make([]byte, 64*36)
	for v := range videos { // decode into the cache before timing
		if err := frames.Frames(ctx, filepath.Join(dir, "videos", strconv.Itoa(v)+".mp4"), 0, 1, buf); err != nil {
			b.Fatal(err)
		}
	}
	l, err := data.NewLoader(s, frames, data.LoaderConfig{Tier: data.TierTrain, Batch: 4, Window: 100, Prefetch: 2})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	n := 0
	for _, err := range l.Batches(ctx, 0, b.N) {
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "batches/s")
}
