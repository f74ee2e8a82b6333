package video

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fmcore/fmcore/data"
)

// sourceFixture is three 20-frame videos whose frame k has luminance k + 50·v (video
// v), a cache and the Params they decode to losslessly (native size and rate: Encoder
// round-trips bit for bit, see its doc).
type sourceFixture struct {
	videos []string
	cache  *Cache
	p      Params
}

func newSourceFixture(t *testing.T) *sourceFixture {
	t.Helper()
	requireFFmpeg(t)
	dir := t.TempDir()
	f := &sourceFixture{p: Params{Width: 8, Height: 4, RateHz: 30}}
	for v := range 3 {
		path := filepath.Join(dir, fmt.Sprintf("clip%d.mp4", v))
		encodeVideo(t, path, 8, 4, 30, 20, func(k int, fr []byte) { flat(byte(k+50*v))(k, fr) })
		f.videos = append(f.videos, path)
	}
	c, err := NewCache(filepath.Join(dir, "frames"))
	if err != nil {
		t.Fatal(err)
	}
	f.cache = c
	return f
}

// checkWindow fails unless dst holds frames start…start+n−1 of video v.
func (f *sourceFixture) checkWindow(t testing.TB, dst []byte, v, start, n int) {
	t.Helper()
	fb := f.p.FrameBytes()
	for k := range n {
		want := byte(start + k + 50*v)
		for _, px := range dst[k*fb : (k+1)*fb] {
			if px != want {
				t.Errorf("video %d, frame %d: pixel %d, want %d", v, start+k, px, want)
				return
			}
		}
	}
}

func TestSourceReadsWindowsAndEvicts(t *testing.T) {
	f := newSourceFixture(t)
	s, err := NewSource(f.cache, f.p, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Format(); got != (data.FrameFormat{Width: 8, Height: 4, RateHz: 30}) {
		t.Errorf("Format() = %+v", got)
	}
	ctx := context.Background()
	dst := make([]byte, 5*f.p.FrameBytes())
	held := map[int]*Entry{} // the entry the LRU held for each video, captured after a read
	for step, w := range []struct{ v, start, n, open int }{
		{0, 0, 5, 1}, {1, 15, 5, 2}, {0, 3, 2, 2}, {2, 19, 1, 2}, {1, 7, 4, 2}, {1, 0, 1, 2},
	} {
		if err := s.Frames(ctx, f.videos[w.v], w.start, w.n, dst); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		f.checkWindow(t, dst, w.v, w.start, w.n)
		if got := s.OpenEntries(); got != w.open {
			t.Errorf("step %d: %d entries open, want %d", step, got, w.open)
		}
		held[w.v] = s.byPath[f.videos[w.v]].Value.(*heldEntry).e
	}
	// Order of use 0 1 0 2 1 1: opening 2 evicted 1, reopening 1 evicted 0. Evicted
	// entries must be closed.
	if _, ok := s.byPath[f.videos[0]]; ok {
		t.Error("video 0 is still open; it was the least recently used")
	}
	if err := held[0].ReadFrames(0, 1, dst); !errors.Is(err, os.ErrClosed) {
		t.Errorf("evicted entry of video 0: read gives %v, want a closed file", err)
	}
	if n := f.cache.decodes.Load(); n != 3 {
		t.Errorf("%d decodes, want 3: a reopened video is found in the cache", n)
	}
	if err := s.Frames(ctx, f.videos[2], 18, 3, dst); err == nil || !strings.Contains(err.Error(), "outside its 20 frames") {
		t.Errorf("window past the end: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := held[2].ReadFrames(0, 1, dst); !errors.Is(err, os.ErrClosed) {
		t.Errorf("after Close, entry of video 2: read gives %v, want a closed file", err)
	}
	if err := s.Frames(ctx, f.videos[1], 0, 1, dst); err == nil || !strings.Contains(err.Error(), "source is closed") {
		t.Errorf("Frames after Close: %v", err)
	}
}

// TestSourceConcurrent reads random windows of three videos from several goroutines
// through an LRU of one entry, so that entries are evicted while others read them.
// Run with -race; every window must still hold the right frames.
func TestSourceConcurrent(t *testing.T) {
	f := newSourceFixture(t)
	s, err := NewSource(f.cache, f.p, 1)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			dst := make([]byte, 20*f.p.FrameBytes())
			for range 50 {
				v, n := rng.IntN(3), 1+rng.IntN(20)
				start := rng.IntN(20 - n + 1)
				if err := s.Frames(context.Background(), f.videos[v], start, n, dst); err != nil {
					t.Error(err)
					return
				}
				f.checkWindow(t, dst, v, start, n)
			}
		}()
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNewSourceErrors(t *testing.T) {
	c, err := NewCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		p    Params
		keep int
		want string
	}{
		{"keep 0", Params{Width: 8, Height: 4, RateHz: 30}, 0, "keep 0 open videos"},
		{"bad params", Params{Width: 0, Height: 4, RateHz: 30}, 4, "width 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewSource(c, tc.p, tc.keep); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
