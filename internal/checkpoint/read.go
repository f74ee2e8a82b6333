package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
)

// ReadFile reads a checkpoint file with the strict default Options.
func ReadFile(path string) (Header, []Tensor, error) {
	return Options{}.ReadFile(path)
}

// ReadHeader reads and checks the header of a checkpoint file without reading the tensor data:
// magic, version, header checksum, and that the tensor table describes the file exactly. The
// data checksums are checked only by ReadFile.
func ReadHeader(path string) (Header, error) {
	f, size, err := openFile(path)
	if err != nil {
		return Header{}, withPath(err, "read", path)
	}
	defer f.Close()
	h, _, err := readHeader(f, size)
	return h, withPath(err, "read", path)
}

// ReadFile reads a checkpoint file and checks everything: magic, version, header checksum, the
// tensor table against the file size, zero padding, every tensor's CRC-32C and, unless
// o.AllowNonFinite, that every value is finite. The tensors come back in file order; their
// Data slices share one allocation.
func (o Options) ReadFile(path string) (Header, []Tensor, error) {
	f, size, err := openFile(path)
	if err != nil {
		return Header{}, nil, withPath(err, "read", path)
	}
	defer f.Close()
	h, headEnd, err := readHeader(f, size)
	if err != nil {
		return Header{}, nil, withPath(err, "read", path)
	}
	tensors, err := o.readData(f, headEnd, h.Tensors)
	if err != nil {
		return Header{}, nil, withPath(err, "read", path)
	}
	return h, tensors, nil
}

// openFile opens path and returns its size; anything but a regular file is ErrNotCheckpoint.
func openFile(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	switch {
	case st.IsDir():
		f.Close()
		return nil, 0, errorf(ErrNotCheckpoint, "", "is a folder, not a "+Ext+" file (load a checkpoint folder with LoadCore and LoadSession)")
	case !st.Mode().IsRegular():
		f.Close()
		return nil, 0, errorf(ErrNotCheckpoint, "", "not a regular file")
	}
	return f, st.Size(), nil
}

// readHeader parses and checks the preamble and header of a file of size bytes read through r,
// including the tensor table against size. It returns the header and the offset where the
// header ends. It trusts nothing in the file: every length and offset is bounded before use.
func readHeader(r io.ReaderAt, size int64) (Header, int64, error) {
	var pre [preambleSize]byte
	got := pre[:min(size, preambleSize)]
	if err := readFull(r, got, 0); err != nil {
		return Header{}, 0, err
	}
	if len(got) < len(magic) {
		if bytes.HasPrefix([]byte(magic), got) {
			return Header{}, 0, errorf(ErrCorrupt, "", fmt.Sprintf("truncated: the file has %d bytes, a checkpoint at least %d", size, preambleSize))
		}
		return Header{}, 0, errorf(ErrNotCheckpoint, "", "no fmcore checkpoint magic at the start of the file")
	}
	if string(got[:len(magic)]) != magic {
		return Header{}, 0, errorf(ErrNotCheckpoint, "", "no fmcore checkpoint magic at the start of the file")
	}
	if size < preambleSize {
		return Header{}, 0, errorf(ErrCorrupt, "", fmt.Sprintf("truncated: the file has %d bytes, a checkpoint at least %d", size, preambleSize))
	}
	version := binary.LittleEndian.Uint32(pre[8:12])
	switch {
	case version == 0:
		return Header{}, 0, errorf(ErrCorrupt, "", "checkpoint version 0 does not exist")
	case version > Version:
		return Header{}, 0, errorf(ErrVersion, "", fmt.Sprintf("checkpoint version %d, this binary reads up to %d: upgrade fmcore", version, Version))
	}
	headSum := binary.LittleEndian.Uint32(pre[12:16])
	headLen := binary.LittleEndian.Uint64(pre[16:24])
	switch {
	case headLen == 0:
		return Header{}, 0, errorf(ErrCorrupt, "", "empty header")
	case headLen > uint64(size-preambleSize):
		return Header{}, 0, errorf(ErrCorrupt, "", fmt.Sprintf("header length %d runs past the end of the file (%d bytes): the file is truncated or damaged", headLen, size))
	case headLen > maxHeaderBytes:
		return Header{}, 0, errorf(ErrCorrupt, "", fmt.Sprintf("header length %d exceeds the limit of %d bytes", headLen, maxHeaderBytes))
	}
	head := make([]byte, headLen)
	if err := readFull(r, head, preambleSize); err != nil {
		return Header{}, 0, err
	}
	if sum := crc32.Checksum(head, castagnoli()); sum != headSum {
		return Header{}, 0, errorf(ErrCorrupt, "", fmt.Sprintf("header checksum %08x, computed %08x: the file is damaged; restore it from a copy", headSum, sum))
	}
	var h Header
	dec := json.NewDecoder(bytes.NewReader(head))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return Header{}, 0, errorf(ErrCorrupt, "", "decode header: "+err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return Header{}, 0, errorf(ErrCorrupt, "", "unexpected data after the header")
	}
	if h.FormatVersion != version {
		return Header{}, 0, errorf(ErrCorrupt, "", fmt.Sprintf("header says format version %d, the preamble %d", h.FormatVersion, version))
	}
	if reason := checkKind(&h); reason != "" {
		return Header{}, 0, errorf(ErrCorrupt, "", reason)
	}
	headEnd := preambleSize + int64(headLen)
	if err := checkTable(h.Tensors, alignUp(headEnd), size); err != nil {
		return Header{}, 0, err
	}
	return h, headEnd, nil
}

// checkTable checks that the tensor table describes a data section starting at dataStart and
// ending exactly at the end of a file of size bytes: valid unique names, float32, valid shapes,
// aligned offsets that follow one another without overlap or gap.
func checkTable(table []TensorInfo, dataStart, size int64) error {
	seen := make(map[string]struct{}, len(table))
	var end int64 // end of the previous tensor, relative to dataStart
	prev := ""
	for _, ti := range table {
		if reason := checkName(ti.Name); reason != "" {
			return errorf(ErrCorrupt, "", reason)
		}
		if _, dup := seen[ti.Name]; dup {
			return errorf(ErrCorrupt, ti.Name, "name appears twice in the tensor table")
		}
		seen[ti.Name] = struct{}{}
		if ti.DType != dtypeFloat32 {
			return errorf(ErrCorrupt, ti.Name, fmt.Sprintf("dtype %q, version %d stores only %q", ti.DType, Version, dtypeFloat32))
		}
		n, ok := numel(ti.Shape, size/4)
		if !ok {
			return errorf(ErrCorrupt, ti.Name, fmt.Sprintf("shape %v is invalid or larger than the file", ti.Shape))
		}
		want := alignUp(end)
		switch {
		case ti.Offset < 0 || ti.Offset%alignment != 0:
			return errorf(ErrCorrupt, ti.Name, fmt.Sprintf("offset %d is not a non-negative multiple of %d", ti.Offset, alignment))
		case ti.Offset < want:
			return errorf(ErrCorrupt, ti.Name, fmt.Sprintf("data at offset %d overlaps tensor %s, which ends at %d", ti.Offset, printable(prev), end))
		case ti.Offset > size:
			return errorf(ErrCorrupt, ti.Name, fmt.Sprintf("offset %d lies beyond the end of the file (%d bytes): the file is truncated or damaged", ti.Offset, size))
		case ti.Offset > want:
			return errorf(ErrCorrupt, ti.Name, fmt.Sprintf("offset %d leaves a gap after the previous tensor (expected %d)", ti.Offset, want))
		}
		end = ti.Offset + 4*n
		if dataStart+end > size {
			return errorf(ErrCorrupt, ti.Name, fmt.Sprintf("data ends at byte %d, beyond the end of the file (%d bytes): the file is truncated", dataStart+end, size))
		}
		prev = ti.Name
	}
	switch total := dataStart + end; {
	case total > size:
		return errorf(ErrCorrupt, "", fmt.Sprintf("data section starts at byte %d, beyond the end of the file (%d bytes): the file is truncated", dataStart, size))
	case total < size:
		return errorf(ErrCorrupt, "", fmt.Sprintf("%d unexpected bytes after the last tensor", size-total))
	}
	return nil
}

// readData reads the tensors of table from r, whose header ends at headEnd, checking padding,
// checksums and finiteness.
func (o Options) readData(r io.ReaderAt, headEnd int64, table []TensorInfo) ([]Tensor, error) {
	var total int64
	for _, ti := range table {
		n, _ := numel(ti.Shape, math.MaxInt64/4) // checked against the file size by checkTable
		total += n
	}
	backing := make([]float32, total)
	buf := make([]byte, min(chunkBytes, 4*total+alignment))
	tab := castagnoli()
	dataStart := alignUp(headEnd)
	if err := checkZero(r, buf, headEnd, dataStart, ""); err != nil {
		return nil, err
	}
	tensors := make([]Tensor, len(table))
	pos, k := dataStart, 0
	for i, ti := range table {
		start := dataStart + ti.Offset
		if err := checkZero(r, buf, pos, start, ti.Name); err != nil {
			return nil, err
		}
		n, _ := numel(ti.Shape, math.MaxInt64/4)
		dst := backing[k : k+int(n) : k+int(n)]
		k += int(n)
		var sum uint32
		bad, badAt := 0, -1
		step := len(buf) / 4
		for off := 0; off < len(dst); off += step {
			m := min(step, len(dst)-off)
			b := buf[:4*m]
			if err := readFull(r, b, start+4*int64(off)); err != nil {
				return nil, err
			}
			sum = crc32.Update(sum, tab, b)
			if c, at := decodeChunk(dst[off:off+m], b); c > 0 {
				if badAt < 0 {
					badAt = off + at
				}
				bad += c
			}
		}
		if sum != ti.CRC32C {
			return nil, errorf(ErrCorrupt, ti.Name, fmt.Sprintf("data checksum %08x, computed %08x: the file is damaged; restore it from a copy", ti.CRC32C, sum))
		}
		if bad > 0 && !o.AllowNonFinite {
			return nil, errorf(ErrNonFinite, ti.Name, nonFiniteDetail(dst[badAt], badAt, bad)+
				": the run that wrote it diverged; load an earlier checkpoint or set Options.AllowNonFinite")
		}
		tensors[i] = Tensor{Name: ti.Name, Shape: append([]int{}, ti.Shape...), Data: dst}
		pos = start + 4*n
	}
	return tensors, nil
}

// checkZero checks that the padding bytes [from, to) of r, fewer than alignment, are zero.
func checkZero(r io.ReaderAt, buf []byte, from, to int64, tensor string) error {
	if to <= from {
		return nil
	}
	pad := buf[:to-from]
	if err := readFull(r, pad, from); err != nil {
		return err
	}
	for _, c := range pad {
		if c != 0 {
			return errorf(ErrCorrupt, tensor, fmt.Sprintf("non-zero padding byte in [%d, %d): the file is damaged", from, to))
		}
	}
	return nil
}

// decodeChunk decodes little-endian src into dst (len(src) = 4·len(dst)) and returns the number
// of non-finite values and the index of the first.
func decodeChunk(dst []float32, src []byte) (bad, first int) {
	first = -1
	src = src[:4*len(dst)]
	for i := range dst {
		bits := binary.LittleEndian.Uint32(src[4*i:])
		dst[i] = math.Float32frombits(bits)
		if bits&0x7f800000 == 0x7f800000 { // exponent all ones: ±Inf or NaN
			if first < 0 {
				first = i
			}
			bad++
		}
	}
	return bad, first
}

// readFull fills b from r at off; a short read means the file shrank after it was measured.
func readFull(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return errorf(ErrCorrupt, "", fmt.Sprintf("file ends at byte %d, before its declared end (was it changed while being read?)", off+int64(n)))
	}
	return err
}
