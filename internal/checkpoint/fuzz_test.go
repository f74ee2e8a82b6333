package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadHeader feeds arbitrary bytes to the header parser and the data reader. Neither may
// panic or allocate beyond the input's size; errors must be one line and wrap a sentinel; an
// accepted header must describe a table that tiles the input exactly. Each input is tried as
// is and with its header checksum repaired, so that mutations reach the JSON parser and the
// table checks instead of stopping at the checksum. The seed corpus is
// testdata/fuzz/FuzzReadHeader (regenerate with FMCORE_UPDATE_GOLDEN=1 go test -run Golden).
//
//	go test -run '^$' -fuzz FuzzReadHeader -fuzztime 20s ./internal/checkpoint/
func FuzzReadHeader(f *testing.F) {
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, data)
		if len(data) >= preambleSize {
			n := binary.LittleEndian.Uint64(data[16:24])
			if n <= uint64(len(data)-preambleSize) {
				fixed := bytes.Clone(data)
				binary.LittleEndian.PutUint32(fixed[12:16], crc32.Checksum(fixed[preambleSize:preambleSize+n], castagnoli()))
				checkParse(t, fixed)
			}
		}
	})
}

// checkParse runs the reader on data and checks the invariants of FuzzReadHeader.
func checkParse(t *testing.T, data []byte) {
	size := int64(len(data))
	h, headEnd, err := readHeader(bytes.NewReader(data), size)
	if err != nil {
		checkFuzzError(t, err, ErrNotCheckpoint, ErrVersion, ErrCorrupt)
		return
	}
	if checkKind(&h) != "" || h.FormatVersion != Version {
		t.Fatalf("accepted kind %q session %q version %d", h.Kind, h.Session, h.FormatVersion)
	}
	end := alignUp(headEnd)
	seen := map[string]bool{}
	for _, ti := range h.Tensors {
		n, ok := numel(ti.Shape, size/4)
		if !ok || seen[ti.Name] || ti.Offset%alignment != 0 || alignUp(headEnd)+ti.Offset < end {
			t.Fatalf("accepted a bad table entry %+v", ti)
		}
		seen[ti.Name] = true
		end = alignUp(headEnd) + ti.Offset + 4*n
	}
	if end != size && (len(h.Tensors) > 0 || alignUp(headEnd) != size) {
		t.Fatalf("accepted a table ending at %d in a file of %d bytes", end, size)
	}
	_, err = Options{}.readData(bytes.NewReader(data), headEnd, h.Tensors)
	if err != nil {
		checkFuzzError(t, err, ErrCorrupt, ErrNonFinite)
	}
}

func checkFuzzError(t *testing.T, err error, sentinels ...error) {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
	}
	t.Fatalf("error %q wraps none of %v", err, sentinels)
}

// writeSeedCorpus writes the committed seed corpus of FuzzReadHeader: valid files of each kind
// and a few damaged ones.
func writeSeedCorpus(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	encode := func(h Header, tensors []Tensor) []byte {
		path := filepath.Join(dir, "x.fmck")
		if err := (Options{AllowNonFinite: true}).WriteFile(path, h, tensors); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	core := encode(sampleHeader(), sampleTensors(1)[:4])
	session := sampleHeader()
	session.Kind, session.Session = KindSession, "7-1"
	seeds := map[string][]byte{
		"core":        core,
		"session":     encode(session, []Tensor{{Name: "readout.mu", Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}}),
		"no-tensors":  encode(sampleHeader(), nil),
		"empty-shape": encode(sampleHeader(), []Tensor{{Name: "a", Shape: []int{0}}, {Name: "b", Shape: []int{}, Data: []float32{1}}}),
		"nan":         encode(sampleHeader(), []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{float32(math.NaN())}}}),
		"truncated":   core[:len(core)-3],
		"newer":       append(append([]byte(magic), 2, 0, 0, 0), core[12:]...),
	}
	out := filepath.Join("testdata", "fuzz", "FuzzReadHeader")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range seeds {
		text := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(out, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
