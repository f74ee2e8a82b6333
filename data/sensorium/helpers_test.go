package sensorium

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npy"
)

// The committed fixture folders (scripts/make_import_fixtures.py).
const (
	fixtureA = "testdata/dynamic10001-1-2-Video-fixtureA"
	fixtureB = "testdata/dynamic10002-3-4-Video-fixtureB"
)

// copyTree copies the folder src into a new temporary folder and returns the copy's path,
// keeping src's base name (the session is parsed from it).
func copyTree(t *testing.T, src string) string {
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

// writeNpy writes a version-1 .npy file by hand, so tests can make any dtype, shape
// and payload, including ones numpy's own writers would not (object arrays, short data).
func writeNpy(t *testing.T, path, descr string, shape []int, fortran bool, payload []byte) {
	t.Helper()
	order := "False"
	if fortran {
		order = "True"
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, order, shapeString(shape))
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

// f32bytes encodes float32 values little-endian.
func f32bytes(xs []float32) []byte {
	b := make([]byte, 4*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// source is a source array read with npyio directly (not through the package's reader),
// indexed the way numpy indexes it.
type source struct {
	shape   []int
	fortran bool
	v       []float64
}

// at returns element idx (one index per dimension) following numpy's C or Fortran order.
func (s source) at(idx ...int) float64 {
	off, step := 0, 1
	if s.fortran {
		for k := range idx {
			off += idx[k] * step
			step *= s.shape[k]
		}
	} else {
		for k := len(idx) - 1; k >= 0; k-- {
			off += idx[k] * step
			step *= s.shape[k]
		}
	}
	return s.v[off]
}

// load reads a float32 or float64 .npy file with npyio.
func load(t *testing.T, path string) source {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := npy.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	s := source{shape: r.Header.Descr.Shape, fortran: r.Header.Descr.Fortran}
	if strings.Contains(r.Header.Descr.Type, "f8") {
		err = r.Read(&s.v)
	} else {
		var v []float32
		err = r.Read(&v)
		s.v = make([]float64, len(v))
		for i, x := range v {
			s.v[i] = float64(x)
		}
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

// sameFloat reports whether a equals b, treating two NaN as equal.
func sameFloat(a, b float64) bool {
	return a == b || (math.IsNaN(a) && math.IsNaN(b))
}

// loadInts reads an int32 or int64 .npy file with npyio.
func loadInts(t *testing.T, path string) []int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var arr npy.Array
	if err := npy.Read(f, &arr); err != nil {
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
