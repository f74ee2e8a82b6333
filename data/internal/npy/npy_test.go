package npy_test

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fmcore/fmcore/data/internal/importtest"
	"github.com/fmcore/fmcore/data/internal/npy"
)

func TestParseDtype(t *testing.T) {
	for _, tc := range []struct {
		descr string
		kind  byte
		size  int
		err   string
	}{
		{"'<f4'", 'f', 4, ""},
		{"'>f8'", 'f', 8, ""},
		{"'|u1'", 'u', 1, ""},
		{"'|b1'", 'b', 1, ""},
		{"'<U14'", 'U', 56, ""},
		{"'|S6'", 'S', 6, ""},
		{"'|O'", 0, 0, "pickled object array"},
		{"'<f2'", 0, 0, "unsupported dtype <f2"},
		{"'<c16'", 0, 0, "unsupported dtype <c16"},
		{"[('x', '<f4')]", 0, 0, "structured"},
		{"'<M8[ns]'", 0, 0, "unsupported dtype"},
	} {
		t.Run(tc.descr, func(t *testing.T) {
			dt, err := npy.ParseDtype(tc.descr)
			switch {
			case tc.err == "" && (err != nil || dt.Kind != tc.kind || dt.Size != tc.size):
				t.Errorf("ParseDtype(%s) = %c/%d, %v; want %c/%d", tc.descr, dt.Kind, dt.Size, err, tc.kind, tc.size)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("ParseDtype(%s) error %v, want %q", tc.descr, err, tc.err)
			}
		})
	}
}

func TestStrides(t *testing.T) {
	for _, tc := range []struct {
		fortran bool
		want    []int
	}{{false, []int{12, 4, 1}}, {true, []int{1, 2, 6}}} {
		a := &npy.Array{Shape: []int{2, 3, 4}, Fortran: tc.fortran}
		if got := a.Strides(); !slices.Equal(got, tc.want) {
			t.Errorf("strides of (2, 3, 4), fortran %v = %v, want %v", tc.fortran, got, tc.want)
		}
	}
}

func TestShapeString(t *testing.T) {
	for _, tc := range []struct {
		shape []int
		want  string
	}{{nil, "()"}, {[]int{6}, "(6,)"}, {[]int{9, 16, 24}, "(9, 16, 24)"}} {
		if got := npy.ShapeString(tc.shape); got != tc.want {
			t.Errorf("ShapeString(%v) = %q, want %q (numpy's repr)", tc.shape, got, tc.want)
		}
	}
}

// TestOpenBadFile writes one broken file per case and checks that Open fails with a
// one-line *InputError naming the file and the problem.
func TestOpenBadFile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, path string) // nil: no file at all
		msg   string
	}{
		{"missing", nil, "missing"},
		{"empty", func(t *testing.T, p string) { os.WriteFile(p, nil, 0o644) }, "not a .npy file"},
		{"text", func(t *testing.T, p string) { os.WriteFile(p, []byte("x,y\n1,2\n"), 0o644) }, "not a .npy file"},
		{"truncated header", func(t *testing.T, p string) {
			importtest.WriteNpy(t, p, "<f4", []int{2, 3}, false, make([]byte, 24))
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:30], 0o644)
		}, "damaged .npy header"},
		{"truncated data", func(t *testing.T, p string) {
			importtest.WriteNpy(t, p, "<f4", []int{2, 3}, false, make([]byte, 20))
		}, "truncated: 20 bytes of data, shape (2, 3) of <f4 needs 24"},
		{"trailing bytes", func(t *testing.T, p string) {
			importtest.WriteNpy(t, p, "<f8", []int{2}, false, make([]byte, 19))
		}, "3 bytes after the data of shape (2,) of <f8"},
		{"pickled objects", func(t *testing.T, p string) {
			importtest.WriteNpy(t, p, "|O", []int{1}, false, []byte("\x80\x02]q\x00."))
		}, "pickled object array"},
		{"complex", func(t *testing.T, p string) {
			importtest.WriteNpy(t, p, "<c8", []int{1}, false, make([]byte, 8))
		}, "unsupported dtype <c8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "a.npy")
			if tc.write != nil {
				tc.write(t, p)
			}
			a, err := npy.Open(p)
			if err == nil {
				a.Close()
			}
			importtest.AssertInputError(t, err, p, tc.msg)
			if tc.write == nil && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("error %q does not wrap fs.ErrNotExist", err)
			}
		})
	}
}

// TestReadAll reads small arrays of every kind the importers use through ReadSmall.
func TestReadAll(t *testing.T) {
	for _, tc := range []struct {
		name    string
		descr   string
		shape   []int
		payload []byte
		floats  []float64
		ints    []int64
		strs    []string
		err     string
	}{
		{"strings", "<U6", []int{2}, append(importtest.UTF32("train", 6), importtest.UTF32("none", 6)...),
			nil, nil, []string{"train", "none"}, ""},
		{"int64", "<i8", []int{3}, importtest.Int64Bytes(-1, 0, 1<<40),
			[]float64{-1, 0, 1 << 40}, []int64{-1, 0, 1 << 40}, nil, ""},
		{"int32", "<i4", []int{2}, []byte{5, 0, 0, 0, 0xff, 0xff, 0xff, 0xff},
			[]float64{5, -1}, []int64{5, -1}, nil, ""},
		{"uint64 too large", "<u8", []int{1}, []byte{0, 0, 0, 0, 0, 0, 0, 0x80}, nil, nil, nil, "does not fit an int64"},
		{"bools", "|b1", []int{3}, []byte{1, 0, 1}, []float64{1, 0, 1}, nil, nil, ""},
		{"bool scalar", "|b1", nil, []byte{1}, []float64{1}, nil, nil, ""},
		{"int scalar", "<i8", nil, importtest.Int64Bytes(20), []float64{20}, []int64{20}, nil, ""},
		{"float32", "<f4", []int{2}, importtest.F32Bytes([]float32{0.5, -2}), []float64{0.5, -2}, nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "a.npy")
			importtest.WriteNpy(t, p, tc.descr, tc.shape, false, tc.payload)
			a, floats, ints, strs, err := npy.ReadSmall(p, -1)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Len != max(1, len(tc.floats), len(tc.strs)) {
				t.Errorf("Len %d", a.Len)
			}
			if !slices.Equal(floats, tc.floats) || !slices.Equal(ints, tc.ints) || !slices.Equal(strs, tc.strs) {
				t.Errorf("ReadSmall = %v, %v, %q; want %v, %v, %q", floats, ints, strs, tc.floats, tc.ints, tc.strs)
			}
		})
	}
	p := filepath.Join(t.TempDir(), "a.npy")
	importtest.WriteNpy(t, p, "<i8", []int{2}, false, importtest.Int64Bytes(1, 2))
	if _, _, _, _, err := npy.ReadSmall(p, 2); err == nil || !strings.Contains(err.Error(), "shape (2,), want 2 dimensions") {
		t.Errorf("ReadSmall of rank 1 for rank 2: error %v", err)
	}
}

// TestReadFloats checks float32 and float64 data (the latter through the scratch
// buffer) and the refusal of other dtypes, and ReadBytes likewise.
func TestReadFloats(t *testing.T) {
	dir := t.TempDir()
	f4, f8, i8, u1 := filepath.Join(dir, "f4.npy"), filepath.Join(dir, "f8.npy"), filepath.Join(dir, "i8.npy"), filepath.Join(dir, "u1.npy")
	want := []float32{1.5, float32(math.NaN()), -3, 1e30}
	importtest.WriteNpy(t, f4, "<f4", []int{2, 2}, true, importtest.F32Bytes(want))
	f8data := make([]byte, 0, 32)
	for _, v := range want {
		f8data = append(f8data, importtest.Int64Bytes(int64(math.Float64bits(float64(v))))...)
	}
	importtest.WriteNpy(t, f8, "<f8", []int{4}, false, f8data)
	importtest.WriteNpy(t, i8, "<i8", []int{1}, false, importtest.Int64Bytes(3))
	importtest.WriteNpy(t, u1, "|u1", []int{3}, false, []byte{0, 128, 255})

	var scratch []float64
	for _, p := range []string{f4, f8} {
		a, err := npy.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, a.Len)
		err = a.ReadFloats(got, &scratch)
		a.Close()
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			// Exact: every value is a float32, so float64 → float32 loses nothing.
			if !importtest.SameFloat(float64(got[i]), float64(want[i])) {
				t.Errorf("%s: element %d = %v, want %v", filepath.Base(p), i, got[i], want[i])
			}
		}
	}
	if cap(scratch) < 4 {
		t.Errorf("scratch has capacity %d after reading 4 float64, want it kept", cap(scratch))
	}

	a, err := npy.Open(u1)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 3)
	if err := a.ReadBytes(b); err != nil || !slices.Equal(b, []byte{0, 128, 255}) {
		t.Errorf("ReadBytes = %v, %v", b, err)
	}
	a.Close()
	for _, tc := range []struct {
		path, want string
		read       func(*npy.Array) error
	}{
		{i8, "dtype <i8, want float32 or float64", func(a *npy.Array) error { return a.ReadFloats(make([]float32, 1), &scratch) }},
		{f4, "dtype <f4, want uint8", func(a *npy.Array) error { return a.ReadBytes(make([]byte, 4)) }},
	} {
		a, err := npy.Open(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		err = tc.read(a)
		a.Close()
		importtest.AssertInputError(t, err, tc.path, tc.want)
	}
}

func TestCheckFloatShape(t *testing.T) {
	dir := t.TempDir()
	p, ip := filepath.Join(dir, "f.npy"), filepath.Join(dir, "i.npy")
	importtest.WriteNpy(t, p, "<f4", []int{2, 3}, false, make([]byte, 24))
	importtest.WriteNpy(t, ip, "<i8", []int{2, 3}, false, make([]byte, 48))
	for _, tc := range []struct {
		name, path string
		want       []int
		err        string
	}{
		{"match", p, []int{2, 3}, ""},
		{"other shape", p, []int{2, 4}, "shape (2, 3), want (2, T) = (2, 4)"},
		{"other rank", p, []int{6}, "shape (2, 3), want 1 dimensions"},
		{"integers", ip, []int{2, 3}, "dtype <i8, want float32 or float64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := npy.CheckFloatShape(tc.path, tc.want, "(2, T) = (2, 4)")
			if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
}
