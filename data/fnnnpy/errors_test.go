package fnnnpy

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/fmcore/fmcore/data/internal/importtest"
)

// TestBadInput damages a copy of the fixture tree in one way per case and checks that
// Open or Import fails with a one-line *InputError naming the damaged file and the
// problem, and that nothing is left in the output folder.
func TestBadInput(t *testing.T) {
	f32 := func(n int) []byte { return importtest.F32Bytes(make([]float32, n)) }
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		file   string // the file the error must name, relative to the tree
		msg    string // a part of the message
	}{
		{"not a tree", func(t *testing.T, d string) { os.RemoveAll(filepath.Join(d, dirUnits)) },
			".", "not an fnn data tree"},
		{"missing training folder", func(t *testing.T, d string) { os.RemoveAll(filepath.Join(d, dirTraining)) },
			dirTraining, "missing"},
		{"missing perspectives file", func(t *testing.T, d string) { os.Remove(filepath.Join(d, "perspectives/1.npy")) },
			"perspectives/1.npy", "missing, but"},
		{"units of a trial without stimuli", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, "units/99.npy"), "<f4", []int{20, 5}, false, f32(100))
		}, "units/99.npy", "no matching"},
		{"stray file", func(t *testing.T, d string) { os.WriteFile(filepath.Join(d, "samples/README"), nil, 0o644) },
			"samples/README", "unexpected entry"},
		{"samples disagree with the stimuli", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, "samples/0.npy"), "<i8", nil, false, []byte{21, 0, 0, 0, 0, 0, 0, 0})
		}, "samples/0.npy", "21 samples, but"},
		{"units of another width", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, "units/1.npy"), "<f4", []int{26, 4}, false, f32(26*4))
		}, "units/1.npy", "want (T, U) = (26, 5)"},
		{"perspectives of another length", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, "perspectives/1.npy"), "<f4", []int{25, 2}, false, f32(50))
		}, "perspectives/1.npy", "shape (25, 2), want (T, 2) = (26, 2)"},
		{"modulations of three columns", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, "modulations/2.npy"), "<f4", []int{22, 3}, false, f32(66))
		}, "modulations/2.npy", "want (T, 2) = (22, 2)"},
		{"float stimuli", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, "stimuli/10.npy"), "<f4", []int{24, 9, 16, 1}, false, f32(24*9*16))
		}, "stimuli/10.npy", "dtype <f4, want uint8"},
		{"stimuli of another size", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, "stimuli/1.npy"), "|u1", []int{26, 8, 16, 1}, false, make([]byte, 26*8*16))
		}, "stimuli/1.npy", "H×W = 9×16"},
		{"stimuli with three channels", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, "stimuli/0.npy"), "|u1", []int{20, 9, 16, 3}, false, make([]byte, 20*9*16*3))
		}, "stimuli/0.npy", "want (T, H, W, 1)"},
		{"truncated units", func(t *testing.T, d string) {
			p := filepath.Join(d, "units/2.npy")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-4], 0o644)
		}, "units/2.npy", "truncated"},
		{"text instead of npy", func(t *testing.T, d string) {
			os.WriteFile(filepath.Join(d, "modulations/0.npy"), []byte("pupil,running\n"), 0o644)
		}, "modulations/0.npy", "not a .npy file"},
		{"training as an integer", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, "training/10.npy"), "<i8", nil, false, make([]byte, 8))
		}, "training/10.npy", "want one bool"},
		{"complex perspectives", func(t *testing.T, d string) {
			importtest.WriteNpy(t, filepath.Join(d, "perspectives/0.npy"), "<c16", []int{20, 2}, false, make([]byte, 40*16))
		}, "perspectives/0.npy", "unsupported dtype <c16"},
		{"missing evaluation units", func(t *testing.T, d string) { os.Remove(filepath.Join(d, dirEval, "units/a/1.npy")) },
			dirEval + "/units/a/1.npy", "missing, but"},
		// Found only while importing: the values.
		{"infinite modulation", func(t *testing.T, d string) {
			importtest.Rewrite(t, filepath.Join(d, "modulations/10.npy"), func(v []float32) { v[7] = float32(math.Inf(-1)) })
		}, "modulations/10.npy", "frame 3, column 1 is -Inf: use NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := importtest.CopyTree(t, fixture)
			tc.damage(t, dir)
			out := t.TempDir()
			tree, err := Open(dir, SessionOf(dir))
			if err == nil {
				_, err = tree.Import(context.Background(), out, nil)
			}
			importtest.AssertInputError(t, err, filepath.Join(dir, tc.file), tc.msg)
			importtest.AssertNoOutput(t, out)
		})
	}
}

// TestFortranOrder checks that arrays saved in column-major order import like their
// row-major twins.
func TestFortranOrder(t *testing.T) {
	dir := importtest.CopyTree(t, fixture)
	for _, kind := range []string{dirUnits, dirPerspectives, dirModulations} {
		p := filepath.Join(dir, kind, "1.npy")
		src := importtest.Load(t, p)
		rows, cols := src.Shape[0], src.Shape[1]
		v := make([]float32, rows*cols) // column-major: element (i, j) at i + rows·j
		for i := range rows {
			for j := range cols {
				v[i+rows*j] = float32(src.At(i, j))
			}
		}
		importtest.WriteNpy(t, p, "<f4", src.Shape, true, importtest.F32Bytes(v))
	}
	tree, err := Open(dir, SessionOf(dir))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := tree.Import(context.Background(), out, nil); err != nil {
		t.Fatal(err)
	}
	ref, err := Open(fixture, SessionOf(fixture))
	if err != nil {
		t.Fatal(err)
	}
	refOut := t.TempDir()
	if _, err := ref.Import(context.Background(), refOut, nil); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(tree.Output(out))
	b, _ := os.ReadFile(ref.Output(refOut))
	if len(a) == 0 || string(a) != string(b) {
		t.Error("the column-major copy imports differently from the row-major original")
	}
}
