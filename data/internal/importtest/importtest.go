package importtest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	npyio "codeberg.org/sbinet/npyio/npy"

	"github.com/fmcore/fmcore/data/internal/npy"
)

// CopyTree copies the folder src into a new temporary folder and returns the copy's
// path, keeping src's base name (the SENSORIUM session is parsed from it).
func CopyTree(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// AssertNoOutput fails when out holds any file (recordings, videos, temporary files).
func AssertNoOutput(t testing.TB, out string) {
	t.Helper()
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

// AssertInputError fails unless err is, or wraps, an *InputError (data/internal/npy's,
// which the importers' InputError types alias) naming path, with a one-line message that
// contains msg.
func AssertInputError(t testing.TB, err error, path, msg string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var ie *npy.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("error %q (%T) is not an *InputError", err, err)
	}
	if filepath.Clean(ie.Path) != path {
		t.Errorf("error names %s, want %s", ie.Path, path)
	}
	if m := err.Error(); !strings.Contains(m, msg) || strings.Contains(m, "\n") {
		t.Errorf("error %q: want one line containing %q", m, msg)
	}
}

// WriteNpy writes a version-1 .npy file by hand, so tests can make any dtype, shape
// and payload, including ones numpy's own writers would not (object arrays, short data).
func WriteNpy(t testing.TB, path, descr string, shape []int, fortran bool, payload []byte) {
	t.Helper()
	order := "False"
	if fortran {
		order = "True"
	}
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	tuple := "(" + strings.Join(dims, ", ") + ")"
	if len(shape) == 1 {
		tuple = "(" + dims[0] + ",)"
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, order, tuple)
	// numpy pads the header with spaces and a newline so the data starts on a multiple of 64.
	pad := 64 - (10+len(header)+1)%64
	header += strings.Repeat(" ", pad%64) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(header)))
	b.WriteString(header)
	b.Write(payload)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// F32Bytes encodes float32 values little-endian.
func F32Bytes(xs []float32) []byte {
	b := make([]byte, 4*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// Int64Bytes encodes int64 values little-endian.
func Int64Bytes(xs ...int64) []byte {
	b := make([]byte, 8*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return b
}

// UTF32 encodes s (ASCII) as numpy's <U<width> does: UTF-32 little-endian, zero-padded.
func UTF32(s string, width int) []byte {
	b := make([]byte, 4*width)
	for i, r := range []rune(s) {
		b[4*i] = byte(r)
	}
	return b
}

// Source is a source array read with npyio directly (not through data/internal/npy),
// indexed the way numpy indexes it.
type Source struct {
	Shape   []int
	Fortran bool
	V       []float64 // the elements in file order
}

// At returns element idx (one index per dimension) following numpy's C or Fortran order.
func (s Source) At(idx ...int) float64 {
	off, step := 0, 1
	if s.Fortran {
		for k := range idx {
			off += idx[k] * step
			step *= s.Shape[k]
		}
	} else {
		for k := len(idx) - 1; k >= 0; k-- {
			off += idx[k] * step
			step *= s.Shape[k]
		}
	}
	return s.V[off]
}

// Load reads a float32 or float64 .npy file with npyio.
func Load(t testing.TB, path string) Source {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := npyio.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	s := Source{Shape: r.Header.Descr.Shape, Fortran: r.Header.Descr.Fortran}
	if strings.Contains(r.Header.Descr.Type, "f8") {
		err = r.Read(&s.V)
	} else {
		var v []float32
		err = r.Read(&v)
		s.V = make([]float64, len(v))
		for i, x := range v {
			s.V[i] = float64(x)
		}
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

// Rewrite changes the values of a float32 or float64 .npy file in place, saving them as
// float32 in the file's element order.
func Rewrite(t testing.TB, path string, change func([]float32)) {
	t.Helper()
	src := Load(t, path)
	v := make([]float32, len(src.V))
	for i, x := range src.V {
		v[i] = float32(x)
	}
	change(v)
	WriteNpy(t, path, "<f4", src.Shape, src.Fortran, F32Bytes(v))
}

// SameFloat reports whether a equals b, treating two NaN as equal.
func SameFloat(a, b float64) bool {
	return a == b || (math.IsNaN(a) && math.IsNaN(b))
}

// LoadInts reads an int32 or int64 .npy file with npyio.
func LoadInts(t testing.TB, path string) []int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var arr npyio.Array
	if err := npyio.Read(f, &arr); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []int64
	switch v := arr.Data().(type) {
	case []int64:
		out = v
	case []int32:
		for _, x := range v {
			out = append(out, int64(x))
		}
	default:
		t.Fatalf("%s: %T, want int32 or int64", path, v)
	}
	return out
}

// LoadBytes reads a uint8 .npy file (C order) with npyio.
func LoadBytes(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b []uint8
	if err := npyio.Read(f, &b); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}
