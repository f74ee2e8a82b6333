package video

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEncoderRoundTrip writes random frames and decodes them at the native size and
// rate: the luma must come back bit for bit.
func TestEncoderRoundTrip(t *testing.T) {
	requireFFmpeg(t)
	cases := []struct {
		w, h int
		rate float64
	}{
		{64, 36, 30},
		{33, 17, 30},    // odd sizes: 4:0:0 has no chroma planes to halve
		{48, 24, 29.97}, // a rate that is not a whole number
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%dx%d@%v", c.w, c.h, c.rate), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(c.w)))
			const n = 12
			want := make([]byte, n*c.w*c.h)
			for i := range want {
				want[i] = byte(rng.IntN(256))
			}
			path := tempPath(t, "rand.mp4")
			fb := c.w * c.h
			encodeVideo(t, path, c.w, c.h, c.rate, n, func(k int, f []byte) { copy(f, want[k*fb:]) })
			got, m := readAll(t, path, Params{Width: c.w, Height: c.h, RateHz: c.rate})
			if m != n {
				t.Fatalf("decoded %d frames, wrote %d", m, n)
			}
			if !bytes.Equal(got, want) {
				diff := 0
				for i := range got {
					if got[i] != want[i] {
						diff++
					}
				}
				t.Fatalf("%d of %d bytes differ", diff, len(want))
			}
		})
	}
}

// TestEncoderAtomic checks that nothing appears under the final name before Close
// succeeds, that an existing file keeps its content until then, and that Abort and a
// failed Close leave no file at all.
func TestEncoderAtomic(t *testing.T) {
	requireFFmpeg(t)
	frame := make([]byte, 16*8)

	t.Run("abort leaves nothing", func(t *testing.T) {
		dir := t.TempDir()
		e, err := Create(dir+"/a.mp4", 16, 8, 30)
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if err := e.WriteFrame(frame); err != nil {
				t.Fatal(err)
			}
		}
		e.Abort()
		e.Abort() // idempotent
		assertDir(t, dir)
		if err := e.Close(); err == nil {
			t.Error("Close after Abort: no error")
		}
		assertDir(t, dir)
	})

	t.Run("existing file untouched until Close", func(t *testing.T) {
		dir := t.TempDir()
		path := dir + "/a.mp4"
		old := []byte("the previous video")
		writeFile(t, path, old)
		e, err := Create(path, 16, 8, 30)
		if err != nil {
			t.Fatal(err)
		}
		for range 40 {
			if err := e.WriteFrame(frame); err != nil {
				t.Fatal(err)
			}
		}
		if got := mustRead(t, path); !bytes.Equal(got, old) {
			t.Fatalf("final name changed before Close: %q", got)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		assertDir(t, dir, "a.mp4")
		info, err := Probe(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Frames != 40 {
			t.Errorf("new video has %d frames, want 40", info.Frames)
		}
		if err := e.Close(); err == nil {
			t.Error("second Close: no error")
		}
	})

	t.Run("aborted rewrite keeps the old file", func(t *testing.T) {
		dir := t.TempDir()
		path := dir + "/a.mp4"
		old := []byte("the previous video")
		writeFile(t, path, old)
		e, err := Create(path, 16, 8, 30)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.WriteFrame(frame); err != nil {
			t.Fatal(err)
		}
		e.Abort()
		assertDir(t, dir, "a.mp4")
		if got := mustRead(t, path); !bytes.Equal(got, old) {
			t.Fatalf("old file changed by an aborted rewrite: %q", got)
		}
	})

	t.Run("zero frames is an error", func(t *testing.T) {
		dir := t.TempDir()
		e, err := Create(dir+"/a.mp4", 16, 8, 30)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err == nil {
			t.Error("Close with no frames: no error")
		}
		assertDir(t, dir)
	})

	t.Run("ffmpeg failure", func(t *testing.T) {
		// The folder vanishes before ffmpeg opens its output (it does so once the first
		// frame arrives): Close must report ffmpeg's error and publish nothing.
		dir := filepath.Join(t.TempDir(), "out")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		e, err := Create(dir+"/a.mp4", 16, 8, 30)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		err = e.WriteFrame(frame) // may still fit the pipe
		if err == nil {
			err = e.Close()
		}
		if err == nil || !strings.Contains(err.Error(), dir+"/a.mp4") {
			t.Fatalf("got %v, want an error naming the video", err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("folder reappeared: %v", err)
		}
		t.Log(err)
		e.Abort() // safe after a failure
	})

	t.Run("mode", func(t *testing.T) {
		dir := t.TempDir()
		encodeVideo(t, dir+"/a.mp4", 16, 8, 30, 1, flat(0))
		st, err := os.Stat(dir + "/a.mp4")
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o044 != 0o044 {
			t.Errorf("video mode %v, want group and others to read it", st.Mode())
		}
	})

	t.Run("bad arguments", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := Create(dir+"/a.mp4", 0, 8, 30); err == nil {
			t.Error("Create with width 0: no error")
		}
		if _, err := Create(dir+"/missing/a.mp4", 16, 8, 30); err == nil {
			t.Error("Create in a missing folder: no error")
		}
		e, err := Create(dir+"/a.mp4", 16, 8, 30)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Abort()
		if err := e.WriteFrame(frame[1:]); err == nil {
			t.Error("WriteFrame with a short frame: no error")
		}
	})
}

// assertDir fails unless dir holds exactly the named entries (no temporary files).
func assertDir(tb testing.TB, dir string, names ...string) {
	tb.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if fmt.Sprint(got) != fmt.Sprint(names) {
		tb.Errorf("%s holds %v, want %v", filepath.Base(dir), got, names)
	}
}
