package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestCorrupt damages a valid file in every way the reader must catch and checks the sentinel
// and the message. Cases marked header are caught by ReadHeader too; the others need the data.
func TestCorrupt(t *testing.T) {
	valid, err := os.ReadFile(writeSample(t))
	if err != nil {
		t.Fatal(err)
	}
	l := parseLayout(t, valid)
	first, last := l.table[0], l.table[len(l.table)-1]
	truncate := func(n int64) func([]byte) []byte { return func(b []byte) []byte { return b[:n] } }
	flip := func(at int64) func([]byte) []byte {
		return func(b []byte) []byte { b[at] ^= 0x10; return b }
	}
	setU32 := func(at int, v uint32) func([]byte) []byte {
		return func(b []byte) []byte { binary.LittleEndian.PutUint32(b[at:], v); return b }
	}
	setU64 := func(at int, v uint64) func([]byte) []byte {
		return func(b []byte) []byte { binary.LittleEndian.PutUint64(b[at:], v); return b }
	}
	table := func(change func(*Header)) func([]byte) []byte {
		return func(b []byte) []byte { return rewriteHeader(t, b, editTable(t, change)) }
	}
	raw := func(edit func([]byte) []byte) func([]byte) []byte {
		return func(b []byte) []byte { return rewriteHeader(t, b, edit) }
	}
	tests := []struct {
		name   string
		damage func([]byte) []byte
		want   error
		header bool // ReadHeader catches it as well
		parts  []string
	}{
		{"wrong magic", flip(1), ErrNotCheckpoint, true, []string{"no fmcore checkpoint magic"}},
		{"a YAML file", func([]byte) []byte { return []byte(sampleConfig) }, ErrNotCheckpoint, true, []string{"magic"}},
		{"newer version", setU32(8, 2), ErrVersion, true, []string{"checkpoint version 2, this binary reads up to 1: upgrade fmcore"}},
		{"version 0", setU32(8, 0), ErrCorrupt, true, []string{"version 0"}},
		{"empty file", truncate(0), ErrCorrupt, true, []string{"truncated: the file has 0 bytes"}},
		{"truncated in the magic", truncate(5), ErrCorrupt, true, []string{"truncated"}},
		{"truncated in the preamble", truncate(20), ErrCorrupt, true, []string{"truncated"}},
		{"truncated in the header", truncate(preambleSize + 30), ErrCorrupt, true, []string{"runs past the end"}},
		{"truncated after the header", truncate(l.headEnd), ErrCorrupt, true, []string{"tensor " + first.Name, "truncated"}},
		{"truncated in the first tensor", truncate(l.dataStart + 10), ErrCorrupt, true, []string{"tensor " + first.Name, "beyond the end of the file"}},
		{"truncated by one byte", func(b []byte) []byte { return b[:len(b)-1] }, ErrCorrupt, true, []string{"tensor " + last.Name, "truncated"}},
		{"trailing bytes", func(b []byte) []byte { return append(b, 0, 0, 0, 0) }, ErrCorrupt, true, []string{"4 unexpected bytes after the last tensor"}},
		{"header length beyond the file", func(b []byte) []byte { return setU64(16, uint64(len(b)))(b) }, ErrCorrupt, true, []string{"header length", "runs past the end"}},
		{"header length 2^63", setU64(16, 1<<63), ErrCorrupt, true, []string{"runs past the end"}},
		{"header length 0", setU64(16, 0), ErrCorrupt, true, []string{"empty header"}},
		{"flipped header byte", flip(preambleSize + 40), ErrCorrupt, true, []string{"header checksum"}},
		{"flipped header checksum", flip(13), ErrCorrupt, true, []string{"header checksum"}},
		{"flipped data byte", flip(l.dataStart + last.Offset + 5), ErrCorrupt, false, []string{"tensor " + last.Name, "data checksum", "restore it from a copy"}},
		{"flipped padding byte", flip(l.dataStart - 1), ErrCorrupt, false, []string{"non-zero padding"}},
		{"flipped padding between tensors", flip(l.dataStart + l.table[1].Offset - 1), ErrCorrupt, false, []string{"tensor " + l.table[1].Name, "non-zero padding"}},
		{"overlapping offsets", table(func(h *Header) { h.Tensors[2].Offset = h.Tensors[1].Offset }), ErrCorrupt, true,
			[]string{"tensor " + l.table[2].Name, "overlaps tensor " + l.table[1].Name}},
		{"offset out of range", table(func(h *Header) { h.Tensors[len(h.Tensors)-1].Offset = 1 << 40 }), ErrCorrupt, true,
			[]string{"tensor " + last.Name, "beyond the end of the file"}},
		{"offset 2^62 past an int64 overflow", table(func(h *Header) { h.Tensors[1].Offset = 1 << 62 }), ErrCorrupt, true, []string{"beyond the end"}},
		{"negative offset", table(func(h *Header) { h.Tensors[1].Offset = -64 }), ErrCorrupt, true, []string{"non-negative multiple of 64"}},
		{"misaligned offset", table(func(h *Header) { h.Tensors[1].Offset += 4 }), ErrCorrupt, true, []string{"multiple of 64"}},
		{"gap between tensors", table(func(h *Header) { h.Tensors[1].Offset += 64 }), ErrCorrupt, true, []string{"gap"}},
		{"shape larger than the data", table(func(h *Header) { h.Tensors[len(h.Tensors)-1].Shape[0]++ }), ErrCorrupt, true,
			[]string{"tensor " + last.Name, "beyond the end of the file"}},
		{"shape that overflows", table(func(h *Header) { h.Tensors[0].Shape = []int{1 << 40, 1 << 40, 1 << 40} }), ErrCorrupt, true,
			[]string{"tensor " + first.Name, "invalid or larger than the file"}},
		{"negative dimension", table(func(h *Header) { h.Tensors[0].Shape[0] = -3 }), ErrCorrupt, true, []string{"invalid"}},
		{"duplicate names", table(func(h *Header) { h.Tensors[3].Name = h.Tensors[1].Name }), ErrCorrupt, true,
			[]string{"tensor " + l.table[1].Name, "twice"}},
		{"dtype float64", table(func(h *Header) { h.Tensors[0].DType = "float64" }), ErrCorrupt, true, []string{`dtype "float64"`}},
		{"empty name", table(func(h *Header) { h.Tensors[0].Name = "" }), ErrCorrupt, true, []string{"empty tensor name"}},
		{"name with a newline", table(func(h *Header) { h.Tensors[0].Name = "core.\nx" }), ErrCorrupt, true, []string{`"core.\nx"`}},
		{"unknown kind", table(func(h *Header) { h.Kind = "weights" }), ErrCorrupt, true, []string{`kind "weights"`}},
		{"session file without key", table(func(h *Header) { h.Kind = KindSession }), ErrCorrupt, true, []string{"empty session key"}},
		{"header and preamble versions differ", table(func(h *Header) { h.FormatVersion = 7 }), ErrCorrupt, true, []string{"format version 7, the preamble 1"}},
		{"unknown header field", raw(func(b []byte) []byte { return append([]byte(`{"weights":1,`), b[1:]...) }), ErrCorrupt, true,
			[]string{"decode header", "unknown field"}},
		{"text after the header", raw(func(b []byte) []byte { return append(b, " {}"...) }), ErrCorrupt, true, []string{"unexpected data after the header"}},
		{"header is not JSON", raw(func([]byte) []byte { return []byte("model: x") }), ErrCorrupt, true, []string{"decode header"}},
		{"header is null", raw(func([]byte) []byte { return []byte("null") }), ErrCorrupt, true, []string{"format version 0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), CoreFile)
			if err := os.WriteFile(path, tc.damage(bytes.Clone(valid)), 0o644); err != nil {
				t.Fatal(err)
			}
			parts := append([]string{"read " + path + ": "}, tc.parts...)
			_, _, err := ReadFile(path)
			wantErr(t, err, tc.want, parts...)
			_, err = ReadHeader(path)
			if tc.header {
				wantErr(t, err, tc.want, parts...)
			} else if err != nil {
				t.Fatalf("ReadHeader: %v (the damage is in the data, which it does not read)", err)
			}
		})
	}
}

// TestTruncatedEverywhere cuts the sample file at every length and checks that each prefix is
// refused as corrupt, never accepted and never a panic. It reads from memory through the same
// readHeader and readData as ReadFile, to stay fast.
func TestTruncatedEverywhere(t *testing.T) {
	valid, err := os.ReadFile(writeSample(t))
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(valid) {
		b := valid[:n]
		h, headEnd, err := readHeader(bytes.NewReader(b), int64(n))
		if err == nil {
			_, err = Options{}.readData(bytes.NewReader(b), headEnd, h.Tensors)
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut at %d of %d bytes: error %v, want ErrCorrupt", n, len(valid), err)
		}
	}
}

func TestNotAFile(t *testing.T) {
	dir := t.TempDir()
	_, _, err := ReadFile(dir)
	wantErr(t, err, ErrNotCheckpoint, dir, "is a folder")
	_, err = ReadHeader(filepath.Join(dir, "missing.fmck"))
	wantErr(t, err, os.ErrNotExist, "missing.fmck", "no such file")
}
