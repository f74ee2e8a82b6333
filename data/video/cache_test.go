package video

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// cacheFixture is a small video, its frames decoded directly, and an empty cache.
type cacheFixture struct {
	video  string
	p      Params
	frames []byte // ReadAll's output, the reference for every cache read
	n      int
	cache  *Cache
}

func newCacheFixture(tb testing.TB) *cacheFixture {
	tb.Helper()
	requireFFmpeg(tb)
	f := &cacheFixture{video: tempPath(tb, "clip.mp4"), p: Params{Width: 16, Height: 8, RateHz: 30}}
	encodeVideo(tb, f.video, 32, 16, 30, 20, func(k int, fr []byte) {
		for i := range fr {
			fr[i] = byte(7*k + i)
		}
	})
	f.frames, f.n = readAll(tb, f.video, f.p)
	c, err := NewCache(filepath.Join(tb.TempDir(), "frames"))
	if err != nil {
		tb.Fatal(err)
	}
	f.cache = c
	return f
}

// entries lists the cache folder: complete entries and leftover temporary files.
func (f *cacheFixture) entries(tb testing.TB) (done, tmp []string) {
	tb.Helper()
	ents, err := os.ReadDir(f.cache.Dir())
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range ents {
		switch {
		case strings.HasSuffix(e.Name(), entryExt):
			done = append(done, filepath.Join(f.cache.Dir(), e.Name()))
		default:
			tmp = append(tmp, e.Name())
		}
	}
	return done, tmp
}

// check asserts that frames equal the fixture's reference frames.
func (f *cacheFixture) check(tb testing.TB, frames []byte, n int) {
	tb.Helper()
	if n != f.n || !bytes.Equal(frames, f.frames) {
		tb.Fatalf("cache returned %d frames (%d bytes) that differ from the %d decoded directly", n, len(frames), f.n)
	}
}

func TestCacheHitAfterMiss(t *testing.T) {
	f := newCacheFixture(t)
	ctx := context.Background()
	frames, n, err := f.cache.Frames(ctx, f.video, f.p)
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, frames, n)
	done, tmp := f.entries(t)
	if len(done) != 1 || len(tmp) != 0 {
		t.Fatalf("after a miss: entries %v, temporary files %v; want 1 and none", done, tmp)
	}
	st1, err := os.Stat(done[0])
	if err != nil {
		t.Fatal(err)
	}

	frames, n, err = f.cache.Frames(ctx, f.video, f.p)
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, frames, n)
	if d := f.cache.decodes.Load(); d != 1 {
		t.Errorf("%d decodes for a miss and a hit, want 1", d)
	}
	st2, err := os.Stat(done[0])
	if err != nil {
		t.Fatal(err)
	}
	if !st2.ModTime().Equal(st1.ModTime()) || !os.SameFile(st1, st2) {
		t.Error("the hit rewrote the entry")
	}

	// Another Cache on the same folder, as another process would open it.
	other, err := NewCache(f.cache.Dir())
	if err != nil {
		t.Fatal(err)
	}
	frames, n, err = other.Frames(ctx, f.video, f.p)
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, frames, n)
	if d := other.decodes.Load(); d != 0 {
		t.Errorf("a second Cache on the same folder decoded %d times, want 0", d)
	}

	// The key is the content: a copy under another name is a hit.
	cp := filepath.Join(filepath.Dir(f.video), "copy.mp4")
	writeFile(t, cp, mustRead(t, f.video))
	if _, _, err := f.cache.Frames(ctx, cp, f.p); err != nil {
		t.Fatal(err)
	}
	if d := f.cache.decodes.Load(); d != 1 {
		t.Errorf("a copy of the video was decoded again (%d decodes), want a hit", d)
	}

	// Other Params are another entry.
	q := Params{Width: 8, Height: 4, RateHz: 15}
	small, m, err := f.cache.Frames(ctx, f.video, q)
	if err != nil {
		t.Fatal(err)
	}
	if want, wantN := readAll(t, f.video, q); m != wantN || !bytes.Equal(small, want) {
		t.Errorf("Frames with %+v differs from ReadAll", q)
	}
	if done, _ := f.entries(t); len(done) != 2 {
		t.Errorf("%d entries for two Params, want 2", len(done))
	}
}

func TestCacheInvalidation(t *testing.T) {
	f := newCacheFixture(t)
	ctx := context.Background()
	if _, _, err := f.cache.Frames(ctx, f.video, f.p); err != nil {
		t.Fatal(err)
	}
	// Rewrite the video in place with other content of the same size and length: only
	// the pixel values change.
	encodeVideo(t, f.video, 32, 16, 30, 20, flat(201))
	frames, n, err := f.cache.Frames(ctx, f.video, f.p)
	if err != nil {
		t.Fatal(err)
	}
	if n != 20 || bytes.Count(frames, []byte{201}) != len(frames) {
		t.Fatalf("after the rewrite the cache returned %d frames that are not all 201", n)
	}
	if d := f.cache.decodes.Load(); d != 2 {
		t.Errorf("%d decodes, want 2 (one per content)", d)
	}
}

// TestCacheConcurrentFill starts many fills of the same entry at once, from several
// Cache values (standing in for processes, which share nothing but the folder) and
// several goroutines each, while others read windows.
func TestCacheConcurrentFill(t *testing.T) {
	f := newCacheFixture(t)
	const caches, perCache = 3, 4
	var wg sync.WaitGroup
	errs := make(chan error, caches*perCache)
	start := make(chan struct{})
	var all []*Cache
	for range caches {
		c, err := NewCache(f.cache.Dir())
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, c)
		for g := range perCache {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if g%2 == 0 {
					frames, n, err := c.Frames(context.Background(), f.video, f.p)
					if err == nil && (n != f.n || !bytes.Equal(frames, f.frames)) {
						err = errors.New("Frames returned other frames")
					}
					errs <- err
					return
				}
				e, err := c.Open(context.Background(), f.video, f.p)
				if err != nil {
					errs <- err
					return
				}
				defer e.Close()
				fb := f.p.FrameBytes()
				win := make([]byte, 5*fb)
				err = e.ReadFrames(10, 5, win)
				if err == nil && !bytes.Equal(win, f.frames[10*fb:15*fb]) {
					err = errors.New("ReadFrames returned other frames")
				}
				errs <- err
			}()
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for i, c := range all {
		// Goroutines of one Cache share a decode; separate Caches may each decode once.
		if d := c.decodes.Load(); d > 1 {
			t.Errorf("cache %d decoded %d times, want at most 1", i, d)
		}
	}
	done, tmp := f.entries(t)
	if len(done) != 1 || len(tmp) != 0 {
		t.Errorf("entries %v, temporary files %v; want 1 and none", done, tmp)
	}
}

// TestCacheCorruptEntry damages the entry in different ways; each time the cache must
// notice, decode again and return the right frames.
func TestCacheCorruptEntry(t *testing.T) {
	cases := []struct {
		name   string
		damage func(b []byte) []byte
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)-7] }},
		{"header only", func(b []byte) []byte { return b[:headerSize] }},
		{"foreign file", func([]byte) []byte { return []byte("some other program's file") }},
		{"empty", func([]byte) []byte { return nil }},
		{"flipped payload byte", func(b []byte) []byte { b[headerSize+100] ^= 0xff; return b }},
		{"flipped header byte", func(b []byte) []byte { b[33] ^= 1; return b }},
		{"newer version", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[8:], entryVersion+1) // checked before the header checksum
			return b
		}},
		{"other key", func(b []byte) []byte {
			h, err := unmarshalHeader(b)
			if err != nil {
				panic(err)
			}
			h.key[0] ^= 1
			copy(b, h.marshal())
			return b
		}},
	}
	f := newCacheFixture(t)
	ctx := context.Background()
	if _, _, err := f.cache.Frames(ctx, f.video, f.p); err != nil {
		t.Fatal(err)
	}
	done, _ := f.entries(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := f.cache.decodes.Load()
			writeFile(t, done[0], c.damage(mustRead(t, done[0])))
			frames, n, err := f.cache.Frames(ctx, f.video, f.p)
			if err != nil {
				t.Fatal(err)
			}
			f.check(t, frames, n)
			if d := f.cache.decodes.Load() - before; d != 1 {
				t.Errorf("%d decodes, want 1 (the damaged entry re-decoded)", d)
			}
			// The entry is repaired in place: the next read is a hit.
			if _, _, err := f.cache.Frames(ctx, f.video, f.p); err != nil {
				t.Fatal(err)
			}
			if d := f.cache.decodes.Load() - before; d != 1 {
				t.Errorf("%d decodes after the repair, want still 1", d)
			}
			if now, tmp := f.entries(t); len(now) != 1 || now[0] != done[0] || len(tmp) != 0 {
				t.Errorf("after the repair: entries %v, temporary files %v", now, tmp)
			}
		})
	}
}

func TestCacheOpenWindow(t *testing.T) {
	f := newCacheFixture(t)
	e, err := f.cache.Open(context.Background(), f.video, f.p)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Len() != f.n || e.Params() != f.p {
		t.Fatalf("entry has %d frames of %+v, want %d of %+v", e.Len(), e.Params(), f.n, f.p)
	}
	fb := f.p.FrameBytes()
	for _, w := range []struct{ start, n int }{{0, 1}, {5, 3}, {0, f.n}, {f.n - 1, 1}, {7, 0}} {
		dst := make([]byte, w.n*fb+3) // longer than needed: the tail stays untouched
		if err := e.ReadFrames(w.start, w.n, dst); err != nil {
			t.Fatalf("window [%d,+%d): %v", w.start, w.n, err)
		}
		if !bytes.Equal(dst[:w.n*fb], f.frames[w.start*fb:(w.start+w.n)*fb]) || !bytes.Equal(dst[w.n*fb:], []byte{0, 0, 0}) {
			t.Errorf("window [%d,+%d) differs from the decoded frames", w.start, w.n)
		}
	}
	for _, w := range []struct{ start, n int }{{-1, 1}, {f.n, 1}, {f.n - 2, 3}, {0, -1}} {
		if err := e.ReadFrames(w.start, w.n, make([]byte, 4*fb)); err == nil {
			t.Errorf("window [%d,+%d) of %d frames: no error", w.start, w.n, f.n)
		}
	}
	if err := e.ReadFrames(0, 2, make([]byte, 2*fb-1)); err == nil {
		t.Error("short buffer: no error")
	}
}

func TestCacheBadVideo(t *testing.T) {
	f := newCacheFixture(t)
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "missing.mp4")
	if _, _, err := f.cache.Frames(ctx, missing, f.p); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing video: %v, want a not-exist error naming it", err)
	}
	text := filepath.Join(t.TempDir(), "text.mp4")
	writeFile(t, text, []byte("not a video"))
	if _, _, err := f.cache.Frames(ctx, text, f.p); !errors.Is(err, ErrNotVideo) {
		t.Errorf("text file: %v, want ErrNotVideo", err)
	}
	if _, err := f.cache.Open(ctx, f.video, Params{}); err == nil {
		t.Error("zero Params: no error")
	}
	// A cancelled fill leaves nothing behind.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := f.cache.Frames(cctx, f.video, f.p); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled fill: %v, want context.Canceled", err)
	}
	if done, tmp := f.entries(t); len(done)+len(tmp) != 0 {
		t.Errorf("failed fills left %v %v", done, tmp)
	}
	if _, err := NewCache(""); err == nil {
		t.Error("NewCache(\"\"): no error")
	}
}

func TestDefaultCacheDir(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", xdg)
	got, err := DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(xdg, "fmcore", "frames"); got != want {
		t.Errorf("DefaultCacheDir() = %q, want %q", got, want)
	}
}

// TestCacheWaitersSurviveCancel checks that goroutines waiting on another's fill still
// get their frames when that fill's own context is cancelled.
func TestCacheWaitersSurviveCancel(t *testing.T) {
	f := newCacheFixture(t)
	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderDone := make(chan error, 1)
	go func() {
		_, _, err := f.cache.Frames(leaderCtx, f.video, f.p)
		leaderDone <- err
	}()
	// Let the leader register its fill, then join it and cancel the leader.
	deadline := time.Now().Add(2 * time.Second)
	for f.cache.decodes.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	waiter := make(chan error, 1)
	go func() {
		frames, n, err := f.cache.Frames(context.Background(), f.video, f.p)
		if err == nil && (n != f.n || !bytes.Equal(frames, f.frames)) {
			err = errors.New("waiter got other frames")
		}
		waiter <- err
	}()
	cancel()
	if err := <-waiter; err != nil {
		t.Errorf("waiter: %v", err)
	}
	<-leaderDone // cancelled or finished first: either is fine
}
