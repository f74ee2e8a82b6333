// Package modeltest holds test helpers for the model packages: the loader of the PyTorch
// parity fixtures (scripts/reference) and comparison with stated tolerances. It is
// imported only from _test.go files.
package modeltest

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// Golden is one fixture case written by scripts/reference/export_golden.py: a folder of
// .npy files under params/, inputs/, outputs/ and grads/, and case.json.
type Golden struct {
	Dir  string
	Case map[string]any
	data map[string]*tensor.Dense // "params/name", "inputs/name", …
}

// LoadGolden reads every array of the fixture folder dir.
func LoadGolden(t testing.TB, dir string) *Golden {
	t.Helper()
	g := &Golden{Dir: dir, data: map[string]*tensor.Dense{}}
	b, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		t.Fatalf("golden %s: %v (regenerate with /usr/bin/python3 scripts/reference/export_golden.py)", dir, err)
	}
	if err := json.Unmarshal(b, &g.Case); err != nil {
		t.Fatalf("golden %s: case.json: %v", dir, err)
	}
	for _, kind := range []string{"params", "inputs", "outputs", "grads"} {
		files, _ := filepath.Glob(filepath.Join(dir, kind, "*.npy"))
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			d := new(tensor.Dense)
			err = d.ReadNpy(fh)
			fh.Close()
			if err != nil {
				t.Fatalf("golden %s: %v", f, err)
			}
			g.data[kind+"/"+strings.TrimSuffix(filepath.Base(f), ".npy")] = d
		}
	}
	return g
}

// Names lists the arrays of one kind ("params", "grads", …).
func (g *Golden) Names(kind string) []string {
	var out []string
	for k := range g.data {
		if name, ok := strings.CutPrefix(k, kind+"/"); ok {
			out = append(out, name)
		}
	}
	return out
}

// Has reports whether the fixture has the array kind/name.
func (g *Golden) Has(kind, name string) bool { _, ok := g.data[kind+"/"+name]; return ok }

// Shape returns the shape of an array.
func (g *Golden) Shape(t testing.TB, kind, name string) []int {
	t.Helper()
	return []int(g.get(t, kind, name).Shape().Clone())
}

func (g *Golden) get(t testing.TB, kind, name string) *tensor.Dense {
	t.Helper()
	d, ok := g.data[kind+"/"+name]
	if !ok {
		t.Fatalf("golden %s: no %s/%s.npy", g.Dir, kind, name)
	}
	return d
}

// F64 returns an array as float64 values (any stored dtype).
func (g *Golden) F64(t testing.TB, kind, name string) []float64 {
	t.Helper()
	switch v := g.get(t, kind, name).Data().(type) {
	case []float64:
		return append([]float64(nil), v...)
	case []float32:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	case []uint8:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	case float64:
		return []float64{v}
	default:
		t.Fatalf("golden %s/%s: unsupported dtype %T", kind, name, v)
		return nil
	}
}

// F32 returns an array as float32 values.
func (g *Golden) F32(t testing.TB, kind, name string) []float32 {
	t.Helper()
	v := g.F64(t, kind, name)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// U8 returns a uint8 array.
func (g *Golden) U8(t testing.TB, kind, name string) []uint8 {
	t.Helper()
	v, ok := g.get(t, kind, name).Data().([]uint8)
	if !ok {
		t.Fatalf("golden %s/%s is not uint8", kind, name)
	}
	return v
}

// TimeMajorToBatch reorders [T, N, rest] values to [N, T, rest].
func TimeMajorToBatch[F any](v []F, T, N int) []F {
	rest := len(v) / (T * N)
	out := make([]F, len(v))
	for t := range T {
		for n := range N {
			copy(out[(n*T+t)*rest:(n*T+t+1)*rest], v[(t*N+n)*rest:(t*N+n+1)*rest])
		}
	}
	return out
}

// Close checks got against want elementwise: |got − want| ≤ atol + rtol·|want|. It
// reports the worst element and how many failed.
func Close[F float32 | float64](t testing.TB, what string, got []F, want []float64, rtol, atol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return
	}
	bad, worst, wi := 0, 0.0, -1
	for i := range got {
		d := math.Abs(float64(got[i]) - want[i])
		lim := atol + rtol*math.Abs(want[i])
		if !(d <= lim) {
			bad++
			if r := d / lim; r > worst || math.IsNaN(d) {
				worst, wi = r, i
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values off; worst at %d: got %g, want %g (rtol %g, atol %g)",
			what, bad, len(got), wi, got[wi], want[wi], rtol, atol)
	}
}

// Describe formats a shape for messages.
func Describe(shape []int) string { return fmt.Sprint(shape) }
