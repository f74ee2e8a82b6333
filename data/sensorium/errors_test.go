package sensorium

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/fmcore/fmcore/data/internal/importtest"
)

// TestBadInput damages a copy of fixture A in one way per case and checks that Open or
// Import fails with a one-line *InputError naming the damaged file and the problem, and
// that nothing is left in the output folder.
func TestBadInput(t *testing.T) {
	f32 := func(n int) []byte { return importtest.F32Bytes(make([]float32, n)) }
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		file   string // the file the error must name, relative to the mouse folder
		msg    string // a part of the message
	}{
		{"not a mouse folder", func(t *testing.T, d string) { os.RemoveAll(filepath.Join(d, "meta")) },
			".", "not a SENSORIUM 2023 mouse folder"},
		{"missing unit ids", func(t *testing.T, d string) { os.Remove(filepath.Join(d, fileUnitIDs)) },
			fileUnitIDs, "missing"},
		{"missing tiers", func(t *testing.T, d string) { os.Remove(filepath.Join(d, fileTiers)) },
			fileTiers, "missing"},
		{"missing coordinates", func(t *testing.T, d string) { os.Remove(filepath.Join(d, fileCoords)) },
			fileCoords, "missing"},
		{"missing videos folder", func(t *testing.T, d string) { os.RemoveAll(filepath.Join(d, dirVideos)) },
			dirVideos, "missing"},
		{"missing behavior file", func(t *testing.T, d string) { os.Remove(filepath.Join(d, "data/behavior/1.npy")) },
			"data/behavior/1.npy", "missing"},
		{"missing responses of a train trial", func(t *testing.T, d string) { os.Remove(filepath.Join(d, "data/responses/0.npy")) },
			"data/responses/0.npy", "missing"},
		{"responses shorter than the video", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, "data/responses/1.npy"), "<f4", []int{6, 20}, false, f32(6*20))
		}, "data/responses/1.npy", "shape (6, 20), want (N, T) = (6, 24)"},
		{"behavior with three rows", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, "data/behavior/2.npy"), "<f4", []int{3, 24}, false, f32(3*24))
		}, "data/behavior/2.npy", "shape (3, 24), want (2, T) = (2, 24)"},
		{"video of another size", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, "data/videos/3.npy"), "<f4", []int{9, 15, 24}, false, f32(9*15*24))
		}, "data/videos/3.npy", "H×W = 9×16"},
		{"video of rank 2", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, "data/videos/0.npy"), "<f4", []int{9, 16}, false, f32(9*16))
		}, "data/videos/0.npy", "want 3 dimensions"},
		{"fewer unit ids than coordinates", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, fileUnitIDs), "<i8", []int{5}, false, importtest.Int64Bytes(1, 2, 3, 4, 5))
		}, fileCoords, "want (N, 3) = (5, 3) numbers, N from meta/neurons/unit_ids.npy"},
		{"fewer units in responses", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, "data/responses/4.npy"), "<f4", []int{5, 24}, false, f32(5*24))
		}, "data/responses/4.npy", "want (N, T) = (6, 24)"},
		{"duplicate unit ids", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, fileUnitIDs), "<i8", []int{6}, false, make([]byte, 6*8))
		}, fileUnitIDs, "duplicate unit id 0"},
		{"coordinates of two columns", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, fileCoords), "<f8", []int{6, 2}, false, make([]byte, 12*8))
		}, fileCoords, "want (N, 3) = (6, 3)"},
		{"truncated video", func(t *testing.T, d string) {
			p := filepath.Join(d, "data/videos/2.npy")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-100], 0o644)
		}, "data/videos/2.npy", "truncated: 13724 bytes of data, shape (9, 16, 24) of <f4 needs 13824"},
		{"truncated header", func(t *testing.T, d string) {
			p := filepath.Join(d, "data/behavior/0.npy")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:30], 0o644)
		}, "data/behavior/0.npy", "damaged .npy header"},
		{"trailing bytes", func(t *testing.T, d string) {
			p := filepath.Join(d, "data/pupil_center/4.npy")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, append(b, 1, 2, 3), 0o644)
		}, "data/pupil_center/4.npy", "3 bytes after the data"},
		{"text instead of npy", func(t *testing.T, d string) {
			os.WriteFile(filepath.Join(d, "data/pupil_center/0.npy"), []byte("x,y\n1,2\n"), 0o644)
		}, "data/pupil_center/0.npy", "not a .npy file"},
		{"empty file", func(t *testing.T, d string) {
			os.WriteFile(filepath.Join(d, "data/responses/3.npy"), nil, 0o644)
		}, "data/responses/3.npy", "not a .npy file"},
		{"integer responses", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, "data/responses/0.npy"), "<i8", []int{6, 24}, false, make([]byte, 6*24*8))
		}, "data/responses/0.npy", "dtype <i8, want float32 or float64"},
		{"complex video", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, "data/videos/1.npy"), "<c8", []int{9, 16, 24}, false, make([]byte, 9*16*24*8))
		}, "data/videos/1.npy", "unsupported dtype <c8"},
		{"float16 behavior", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, "data/behavior/0.npy"), "<f2", []int{2, 24}, false, make([]byte, 2*24*2))
		}, "data/behavior/0.npy", "unsupported dtype <f2"},
		{"tiers as a pickled object array", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, fileTiers), "|O", []int{7}, false, []byte("\x80\x02]q\x00."))
		}, fileTiers, "pickled object array"},
		{"numeric tiers", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, fileTiers), "<i8", []int{7}, false, make([]byte, 7*8))
		}, fileTiers, "dtype <i8, want strings"},
		{"unknown tier", func(t *testing.T, d string) {
			b := make([]byte, 0, 7*4*6)
			for _, s := range []string{"train", "train", "oracle", "oracle", "bogus", "none", "none"} {
				b = append(b, importtest.UTF32(s, 6)...)
			}
			importtest.WriteNpy(t, filepath.Join(d, fileTiers), "<U6", []int{7}, false, b)
		}, fileTiers, `trial 4 has tier "bogus"`},
		{"stray file among the videos", func(t *testing.T, d string) {
			os.WriteFile(filepath.Join(d, dirVideos, "notes.txt"), []byte("hi"), 0o644)
		}, "data/videos/notes.txt", "unexpected file"},
		{"video of a trial not in tiers", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, dirVideos, "7.npy"), "<f4", []int{9, 16, 24}, false, f32(9*16*24))
		}, "data/videos/7.npy", "trial 7 is not in meta/trials/tiers.npy"},
		// Found only while importing: the values.
		{"NaN inside a trial", func(t *testing.T, d string) {
			importtest.Rewrite(t, filepath.Join(d, "data/videos/3.npy"), func(v []float32) { v[5] = float32(math.NaN()) })
		}, "data/videos/3.npy", "NaN may only pad the end"},
		{"infinite response", func(t *testing.T, d string) {
			importtest.Rewrite(t, filepath.Join(d, "data/responses/2.npy"), func(v []float32) { v[30] = float32(math.Inf(1)) })
		}, "data/responses/2.npy", "row 1, frame 6 is +Inf: use NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := importtest.CopyTree(t, fixtureA)
			tc.damage(t, dir)
			out := t.TempDir()
			f, err := Open(dir)
			if err == nil {
				_, err = f.Import(context.Background(), out, nil)
			}
			importtest.AssertInputError(t, err, filepath.Join(dir, tc.file), tc.msg)
			importtest.AssertNoOutput(t, out)
		})
	}
}

func TestFind(t *testing.T) {
	dirs, err := Find("testdata")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != 2 || dirs[0] != fixtureA || dirs[1] != fixtureB {
		t.Errorf("Find(testdata) = %v, want [%s %s]", dirs, fixtureA, fixtureB)
	}
	if dirs, err := Find(fixtureA); err != nil || len(dirs) != 1 {
		t.Errorf("Find(%s) = %v, %v; want the folder itself", fixtureA, dirs, err)
	}
	if _, err := Find(t.TempDir()); !errors.Is(err, ErrNotFolder) {
		t.Errorf("Find(empty folder) error %v, want ErrNotFolder", err)
	}
}

func TestSessionOf(t *testing.T) {
	for _, tc := range []struct{ dir, mouse, session string }{
		{"/data/dynamic29515-10-12-Video-9b4f6a1a067fe51e15306b9628efea20", "29515", "10-12"},
		{"dynamic29156-11-10-Video-8744edeac3b4d1ce16b680916b5267ce/", "29156", "11-10"},
		{"dynamic1-2-3", "1", "2-3"},
		{"mouseA", "mouseA", "1"},
		{"dynamicX-1-2-Video", "dynamicX-1-2-Video", "1"},
	} {
		if got := SessionOf(tc.dir); got.Mouse != tc.mouse || got.Session != tc.session {
			t.Errorf("SessionOf(%q) = %+v, want mouse %s session %s", tc.dir, got, tc.mouse, tc.session)
		}
	}
}
