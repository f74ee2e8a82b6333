package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	session := sampleHeader()
	session.Kind, session.Session, session.Metadata = KindSession, "7-1", nil
	tests := []struct {
		name    string
		header  Header
		tensors []Tensor
	}{
		{"no tensors", sampleHeader(), nil},
		{"sample core", sampleHeader(), sampleTensors(1)},
		{"session", session, []Tensor{
			randomTensor(rng, "readout.mu", 50, 2),
			randomTensor(rng, "readout.sigma", 50, 2, 2),
			randomTensor(rng, "perspective.eye.0.weight", 16, 2, 1, 1, 1),
		}},
		// Larger than the 1 MiB I/O chunk and not a multiple of it, so that chunk
		// boundaries fall inside the tensor.
		{"large", sampleHeader(), []Tensor{
			randomTensor(rng, "readout.features.0", chunkBytes/4+3, 2),
			randomTensor(rng, "readout.features.1", 5, 1001),
		}},
		// Optimizer state for a resume: any prefix works.
		{"optimizer state", sampleHeader(), []Tensor{
			randomTensor(rng, "momentum.core.feedforward.out.weight.0", 4, 6, 1, 1, 1),
			randomTensor(rng, "momentum.readout.7-1.mu", 3, 2),
			{Name: "progress.step", Shape: []int{1}, Data: []float32{1234}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.fmck")
			if err := WriteFile(path, tc.header, tc.tensors); err != nil {
				t.Fatal(err)
			}
			h, got, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			sameTensors(t, got, tc.tensors)
			want := tc.header
			if h.FormatVersion != Version || h.FmcoreVersion != want.FmcoreVersion || h.Kind != want.Kind ||
				h.Session != want.Session || h.Config != want.Config || h.Seed != want.Seed ||
				!h.Created.Equal(want.Created) || fmt.Sprint(h.Metadata) != fmt.Sprint(want.Metadata) {
				t.Fatalf("header %+v, want %+v", h, want)
			}
			hh, err := ReadHeader(path)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(hh) != fmt.Sprint(h) {
				t.Fatalf("ReadHeader %+v, ReadFile %+v", hh, h)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			dataStart := alignUp(preambleSize + int64(binary.LittleEndian.Uint64(b[16:24])))
			for _, ti := range h.Tensors {
				if (dataStart+ti.Offset)%alignment != 0 {
					t.Errorf("%s: file offset %d is not %d-byte aligned", ti.Name, dataStart+ti.Offset, alignment)
				}
			}
		})
	}
}

func TestWriteIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.fmck"), filepath.Join(dir, "b.fmck")
	for _, p := range []string{a, b} {
		if err := WriteFile(p, sampleHeader(), sampleTensors(1)); err != nil {
			t.Fatal(err)
		}
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ba, bb) {
		t.Fatal("the same header and tensors gave different bytes")
	}
}

func TestCreatedDefaultsToNow(t *testing.T) {
	h := sampleHeader()
	h.Created = time.Time{}
	path := filepath.Join(t.TempDir(), "x.fmck")
	before := time.Now()
	if err := WriteFile(path, h, nil); err != nil {
		t.Fatal(err)
	}
	got, err := ReadHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Created.Before(before.Add(-time.Second)) || got.Created.After(time.Now().Add(time.Second)) {
		t.Fatalf("created %v, want about %v", got.Created, before)
	}
}

func TestNonFinite(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value float32
	}{
		{"NaN with payload", math.Float32frombits(0x7fc01234)},
		{"+Inf", float32(math.Inf(1))},
		{"-Inf", float32(math.Inf(-1))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []float32{1, 2, 3, tc.value, 5, tc.value}
			tensors := []Tensor{{Name: "core.ok", Shape: []int{1}, Data: []float32{1}}, {Name: "core.bad", Shape: []int{2, 3}, Data: data}}
			path := filepath.Join(t.TempDir(), "x.fmck")
			wantErr(t, WriteFile(path, sampleHeader(), tensors), ErrNonFinite, path, "tensor core.bad", "value 3 is", "2 non-finite")
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a refused write left a file: %v", err)
			}
			allow := Options{AllowNonFinite: true}
			if err := allow.WriteFile(path, sampleHeader(), tensors); err != nil {
				t.Fatal(err)
			}
			_, _, err := ReadFile(path)
			wantErr(t, err, ErrNonFinite, path, "tensor core.bad", "value 3 is", "load an earlier checkpoint")
			_, got, err := allow.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			sameTensors(t, got, tensors)
		})
	}
}

func TestWriteInvalid(t *testing.T) {
	ok := func(name string) Tensor { return Tensor{Name: name, Shape: []int{2}, Data: []float32{1, 2}} }
	tests := []struct {
		name    string
		edit    func(*Header)
		tensors []Tensor
		parts   []string
	}{
		{"duplicate names", nil, []Tensor{ok("core.a"), ok("core.b"), ok("core.a")}, []string{"tensor core.a", "twice"}},
		{"data shorter than shape", nil, []Tensor{{Name: "core.a", Shape: []int{2, 3}, Data: make([]float32, 5)}}, []string{"tensor core.a", "data has 5 values, shape [2 3] needs 6"}},
		{"negative dimension", nil, []Tensor{{Name: "core.a", Shape: []int{-1, 2}}}, []string{"tensor core.a", "shape [-1 2]"}},
		{"rank 9", nil, []Tensor{{Name: "core.a", Shape: []int{1, 1, 1, 1, 1, 1, 1, 1, 1}, Data: []float32{1}}}, []string{"tensor core.a", "at most 8"}},
		{"empty name", nil, []Tensor{ok("")}, []string{"tensor 0: empty tensor name"}},
		{"name with a newline", nil, []Tensor{ok("core.a"), ok("core.\nb")}, []string{`tensor 1: tensor name "core.\nb"`}},
		{"unknown kind", func(h *Header) { h.Kind = "weights" }, nil, []string{`kind "weights"`}},
		{"session kind without key", func(h *Header) { h.Kind = KindSession }, nil, []string{"kind session with empty session key"}},
		{"session key with a slash", func(h *Header) { h.Kind, h.Session = KindSession, "7/1" }, nil, []string{"letters, digits"}},
		{"core with a session key", func(h *Header) { h.Session = "7-1" }, nil, []string{"kind core with session key"}},
		{"config not UTF-8", func(h *Header) { h.Config = "a: \xff" }, nil, []string{"config is not valid UTF-8"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sampleHeader()
			if tc.edit != nil {
				tc.edit(&h)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "x.fmck")
			wantErr(t, WriteFile(path, h, tc.tensors), ErrInvalid, append([]string{"write " + path}, tc.parts...)...)
			if names := listDir(t, dir); len(names) != 0 {
				t.Fatalf("a refused write left %v", names)
			}
		})
	}
}

func TestWriteIsAtomic(t *testing.T) {
	tests := []struct {
		name string
		// fail makes a write to path fail after the temporary file was created.
		fail func(t *testing.T, path string) error
	}{
		{"writer fails midway", func(t *testing.T, path string) error {
			return writeAtomic(path, func(w io.Writer) error {
				if _, err := w.Write(make([]byte, 3000)); err != nil {
					return err
				}
				return errors.New("disk full")
			})
		}},
		{"rename fails", func(t *testing.T, path string) error {
			// Renaming a file over a non-empty folder fails after the data was written.
			target := filepath.Join(filepath.Dir(path), "folder")
			if err := os.MkdirAll(filepath.Join(target, "x"), 0o755); err != nil {
				t.Fatal(err)
			}
			return WriteFile(target, sampleHeader(), sampleTensors(2))
		}},
		{"non-finite value", func(t *testing.T, path string) error {
			bad := []Tensor{{Name: "core.a", Shape: []int{1}, Data: []float32{float32(math.NaN())}}}
			return WriteFile(path, sampleHeader(), bad)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeSample(t)
			dir := filepath.Dir(path)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			namesBefore := listDir(t, dir)
			if err := tc.fail(t, path); err == nil {
				t.Fatal("the write did not fail")
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Fatal("a failed write changed the previous file")
			}
			for _, n := range listDir(t, dir) {
				if strings.Contains(n, ".tmp-") {
					t.Fatalf("temporary file %s left behind", n)
				}
				if !slices.Contains(namesBefore, n) && n != "folder" {
					t.Fatalf("new file %s after a failed write", n)
				}
			}
			if _, _, err := ReadFile(path); err != nil {
				t.Fatalf("previous file no longer reads: %v", err)
			}
		})
	}
}

// TestGoldenV1 pins format version 1 byte for byte: testdata/v1.fmck must read back to the
// sample tensors, and writing them again must reproduce it. Set FMCORE_UPDATE_GOLDEN=1 to
// rewrite it (and the fuzz seed corpus) after a deliberate format change, which also needs a
// new Version.
func TestGoldenV1(t *testing.T) {
	golden := filepath.Join("testdata", "v1.fmck")
	if os.Getenv("FMCORE_UPDATE_GOLDEN") != "" {
		if err := WriteFile(golden, sampleHeader(), sampleTensors(1)); err != nil {
			t.Fatal(err)
		}
		writeSeedCorpus(t)
	}
	h, got, err := ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	sameTensors(t, got, sampleTensors(1))
	if h.Config != sampleConfig || h.Seed != sampleHeader().Seed || h.Kind != KindCore {
		t.Fatalf("golden header %+v", h)
	}
	path := writeSample(t)
	want, _ := os.ReadFile(golden)
	have, _ := os.ReadFile(path)
	if !bytes.Equal(want, have) {
		t.Fatal("WriteFile no longer reproduces testdata/v1.fmck: the format changed; bump Version and update docs/FORMAT.md")
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Op: "read", Path: "ck/core.fmck", Tensor: "core.a", Detail: "bad"}, "read ck/core.fmck: tensor core.a: bad"},
		{&Error{Op: "read", Path: "ck/core.fmck", Detail: "bad"}, "read ck/core.fmck: bad"},
		{&Error{Tensor: "core.\nx", Detail: "two\nlines"}, `tensor "core.\nx": two\nlines`},
		{&Error{Detail: "only detail"}, "only detail"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	wantErr(t, CheckSessionKey("a b"), ErrInvalid, `session key "a b" may only hold`)
	if err := CheckSessionKey("dynamic29156-11-10-Video-8744edeac3b4d1ce16b680916b5267ce"); err != nil {
		t.Fatal(err)
	}
}
