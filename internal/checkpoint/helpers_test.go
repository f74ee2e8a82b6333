package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sampleConfig is a stand-in for the effective YAML config a model was built from.
const sampleConfig = "model:\n  streams: 2\n  core:\n    feedforward:\n      channels: [8, 16]\n"

// sampleHeader returns a core header with every field set; Created is fixed so that files are
// byte-reproducible.
func sampleHeader() Header {
	return Header{
		FmcoreVersion: "v0.1.0-test",
		Kind:          KindCore,
		Config:        sampleConfig,
		Seed:          math.MaxUint64 - 41, // above 2^53: JSON must not round it through float64
		Created:       time.Date(2025, 4, 9, 12, 30, 15, 123456789, time.UTC),
		Metadata:      map[string]string{"epoch": "12", "note": "tiny core"},
	}
}

// randomTensor returns a tensor of the given shape with standard-normal values.
func randomTensor(rng *rand.Rand, name string, shape ...int) Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	return Tensor{Name: name, Shape: shape, Data: data}
}

// sampleTensors returns a small core: 5-D conv weights whose byte sizes are not multiples of
// 64 (so padding is exercised), gains, a scalar, an empty tensor and special float values.
func sampleTensors(seed uint64) []Tensor {
	rng := rand.New(rand.NewPCG(seed, 7))
	special := Tensor{Name: "core.special", Shape: []int{7}, Data: []float32{
		float32(math.Copysign(0, -1)), 0, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		math.MaxFloat32, -math.MaxFloat32, 1.0 / 3,
	}}
	return []Tensor{
		randomTensor(rng, "core.feedforward.inputs.0.weight.0", 3, 1, 1, 6, 6),
		randomTensor(rng, "core.feedforward.inputs.0.bias.0", 3),
		randomTensor(rng, "core.feedforward.blocks.0.convs.0.weight.1", 5, 3, 3, 3, 3),
		{Name: "core.scalar", Shape: []int{}, Data: []float32{2.5}},
		{Name: "core.empty", Shape: []int{0, 4}, Data: []float32{}},
		special,
		randomTensor(rng, "momentum.core.recurrent.scales.0", 8, 9),
	}
}

// writeSample writes the sample core file into a fresh folder and returns its path.
func writeSample(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), CoreFile)
	if err := WriteFile(path, sampleHeader(), sampleTensors(1)); err != nil {
		t.Fatal(err)
	}
	return path
}

// layout locates the parts of an encoded file.
type layout struct {
	headEnd, dataStart int64
	table              []TensorInfo
}

// parseLayout reads the layout of a valid encoded file.
func parseLayout(t *testing.T, b []byte) layout {
	t.Helper()
	h, headEnd, err := readHeader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return layout{headEnd: headEnd, dataStart: alignUp(headEnd), table: h.Tensors}
}

// rewriteHeader returns file b with its JSON header replaced by edit(header JSON) and a valid
// header checksum, keeping the data section: the way to forge a consistent-looking file whose
// table lies.
func rewriteHeader(t *testing.T, b []byte, edit func([]byte) []byte) []byte {
	t.Helper()
	l := parseLayout(t, b)
	head := edit(bytes.Clone(b[preambleSize:l.headEnd]))
	var out bytes.Buffer
	out.Write(b[:preambleSize])
	out.Write(head)
	out.Write(make([]byte, alignUp(int64(out.Len()))-int64(out.Len())))
	out.Write(b[l.dataStart:])
	res := out.Bytes()
	binary.LittleEndian.PutUint32(res[12:16], crc32.Checksum(head, castagnoli()))
	binary.LittleEndian.PutUint64(res[16:24], uint64(len(head)))
	return res
}

// editTable returns an edit for rewriteHeader that changes the decoded header.
func editTable(t *testing.T, change func(*Header)) func([]byte) []byte {
	return func(head []byte) []byte {
		var h Header
		if err := json.Unmarshal(head, &h); err != nil {
			t.Fatal(err)
		}
		change(&h)
		out, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
}

// wantErr fails unless err wraps sentinel, is one line, and contains every part.
func wantErr(t *testing.T, err, sentinel error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", sentinel)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %q does not wrap %v", err, sentinel)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("error is not one line: %q", msg)
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Fatalf("error %q does not contain %q", msg, p)
		}
	}
}

// sameTensors fails unless got equals want in order, names, shapes and bits (so -0, NaN
// payloads and subnormals count).
func sameTensors(t *testing.T, got, want []Tensor) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d tensors, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || len(g.Shape) != len(w.Shape) || len(g.Data) != len(w.Data) {
			t.Fatalf("tensor %d: got %s %v (%d values), want %s %v (%d values)", i, g.Name, g.Shape, len(g.Data), w.Name, w.Shape, len(w.Data))
		}
		for k := range w.Shape {
			if g.Shape[k] != w.Shape[k] {
				t.Fatalf("%s: shape %v, want %v", w.Name, g.Shape, w.Shape)
			}
		}
		for k := range w.Data {
			if math.Float32bits(g.Data[k]) != math.Float32bits(w.Data[k]) {
				t.Fatalf("%s[%d]: bits %08x, want %08x", w.Name, k, math.Float32bits(g.Data[k]), math.Float32bits(w.Data[k]))
			}
		}
	}
}

// listDir returns the names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
