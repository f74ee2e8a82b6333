package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"
	"unicode/utf8"
)

// chunkBytes is the size of the buffer tensors are encoded into and decoded from: large enough
// that the per-chunk overhead vanishes, small enough to stay in L2 cache.
const chunkBytes = 1 << 20

// castagnoli returns the CRC-32C table (computed once by hash/crc32, hardware-accelerated on
// amd64 and arm64).
func castagnoli() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) }

// WriteFile writes one checkpoint file with the strict default Options.
func WriteFile(path string, h Header, tensors []Tensor) error {
	return Options{}.WriteFile(path, h, tensors)
}

// WriteFile writes h and tensors to path atomically: it writes a temporary file in the same
// folder, syncs it, renames it over path and syncs the folder, so that a crash or an error
// leaves either the previous file or the new one, never a partial file. It sets
// h.FormatVersion, fills h.Tensors and, when h.Created is zero, sets it to the current time.
// Tensors are stored in the order given.
func (o Options) WriteFile(path string, h Header, tensors []Tensor) error {
	head, err := o.encodeHeader(&h, tensors)
	if err != nil {
		return withPath(err, "write", path)
	}
	err = writeAtomic(path, func(w io.Writer) error { return writeBody(w, head, tensors) })
	return withPath(err, "write", path)
}

// encodeHeader validates h and tensors, computes the tensor table with offsets and checksums,
// and returns the header as JSON.
func (o Options) encodeHeader(h *Header, tensors []Tensor) ([]byte, error) {
	if reason := checkKind(h); reason != "" {
		return nil, errorf(ErrInvalid, "", reason)
	}
	if reason := checkStrings(h); reason != "" {
		return nil, errorf(ErrInvalid, "", reason)
	}
	h.FormatVersion = Version
	if h.Created.IsZero() {
		h.Created = time.Now().UTC()
	}
	h.Tensors = make([]TensorInfo, len(tensors))
	seen := make(map[string]struct{}, len(tensors))
	buf := make([]byte, chunkBytes)
	var off int64
	for i, t := range tensors {
		if reason := checkName(t.Name); reason != "" {
			return nil, errorf(ErrInvalid, "", fmt.Sprintf("tensor %d: %s", i, reason))
		}
		if _, dup := seen[t.Name]; dup {
			return nil, errorf(ErrInvalid, t.Name, "name given twice")
		}
		seen[t.Name] = struct{}{}
		n, ok := numel(t.Shape, math.MaxInt64/4)
		if !ok {
			return nil, errorf(ErrInvalid, t.Name, fmt.Sprintf("shape %v is not a valid shape of at most %d non-negative dimensions", t.Shape, maxRank))
		}
		if int64(len(t.Data)) != n {
			return nil, errorf(ErrInvalid, t.Name, fmt.Sprintf("data has %d values, shape %v needs %d", len(t.Data), t.Shape, n))
		}
		sum, bad, badAt := checksum(t.Data, buf)
		if bad > 0 && !o.AllowNonFinite {
			return nil, errorf(ErrNonFinite, t.Name, nonFiniteDetail(t.Data[badAt], badAt, bad)+
				": the run diverged; save an earlier state or set Options.AllowNonFinite")
		}
		shape := append([]int{}, t.Shape...)
		h.Tensors[i] = TensorInfo{Name: t.Name, Shape: shape, DType: dtypeFloat32, Offset: off, CRC32C: sum}
		off = alignUp(off + 4*n)
	}
	head, err := json.Marshal(h)
	if err != nil {
		return nil, errorf(ErrInvalid, "", "encode header: "+err.Error())
	}
	if len(head) > maxHeaderBytes {
		return nil, errorf(ErrInvalid, "", fmt.Sprintf("header of %d bytes exceeds the limit of %d", len(head), maxHeaderBytes))
	}
	return head, nil
}

// checksum returns the CRC-32C of data's little-endian bytes, encoded chunk by chunk through
// buf, with the number of non-finite values and the index of the first (−1 when none).
func checksum(data []float32, buf []byte) (sum uint32, bad, first int) {
	tab := castagnoli()
	first = -1
	step := len(buf) / 4
	for start := 0; start < len(data); start += step {
		src := data[start:min(len(data), start+step)]
		b := buf[:4*len(src)]
		if k, at := encodeChunk(b, src); k > 0 {
			if first < 0 {
				first = start + at
			}
			bad += k
		}
		sum = crc32.Update(sum, tab, b)
	}
	return sum, bad, first
}

// checkStrings reports a header string that JSON would not carry unchanged.
func checkStrings(h *Header) string {
	if !utf8.ValidString(h.FmcoreVersion) {
		return "fmcore version is not valid UTF-8"
	}
	if !utf8.ValidString(h.Config) {
		return "config is not valid UTF-8"
	}
	for k, v := range h.Metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return "metadata " + strconv.Quote(k) + " is not valid UTF-8"
		}
	}
	return ""
}

// writeBody writes the preamble, the header head, zero padding and the tensors' data.
func writeBody(w io.Writer, head []byte, tensors []Tensor) error {
	var pre [preambleSize]byte
	copy(pre[:8], magic)
	binary.LittleEndian.PutUint32(pre[8:12], Version)
	binary.LittleEndian.PutUint32(pre[12:16], crc32.Checksum(head, castagnoli()))
	binary.LittleEndian.PutUint64(pre[16:24], uint64(len(head)))
	if _, err := w.Write(pre[:]); err != nil {
		return err
	}
	if _, err := w.Write(head); err != nil {
		return err
	}
	var zeros [alignment]byte
	pos := int64(preambleSize + len(head))
	buf := make([]byte, chunkBytes)
	for _, t := range tensors {
		if pad := alignUp(pos) - pos; pad > 0 {
			if _, err := w.Write(zeros[:pad]); err != nil {
				return err
			}
			pos += pad
		}
		for start := 0; start < len(t.Data); start += len(buf) / 4 {
			src := t.Data[start:min(len(t.Data), start+len(buf)/4)]
			b := buf[:4*len(src)]
			encodeChunk(b, src)
			if _, err := w.Write(b); err != nil {
				return err
			}
			pos += int64(len(b))
		}
	}
	// The data section starts aligned even when there are no tensors (docs/FORMAT.md).
	if pad := alignUp(pos) - pos; len(tensors) == 0 && pad > 0 {
		if _, err := w.Write(zeros[:pad]); err != nil {
			return err
		}
	}
	return nil
}

// encodeChunk writes src little-endian into dst (len 4·len(src)) and returns the number of
// non-finite values and the index of the first.
func encodeChunk(dst []byte, src []float32) (bad, first int) {
	first = -1
	dst = dst[:4*len(src)]
	for i, v := range src {
		bits := math.Float32bits(v)
		binary.LittleEndian.PutUint32(dst[4*i:], bits)
		if bits&0x7f800000 == 0x7f800000 { // exponent all ones: ±Inf or NaN
			if first < 0 {
				first = i
			}
			bad++
		}
	}
	return bad, first
}

// nonFiniteDetail describes the first non-finite value of a tensor.
func nonFiniteDetail(v float32, at, count int) string {
	s := fmt.Sprintf("value %d is %v", at, v)
	if count > 1 {
		s += fmt.Sprintf(" (%d non-finite values in all)", count)
	}
	return s
}

// writeAtomic writes path through write into a temporary file in the same folder and renames it
// over path after an fsync; on any error the temporary file is removed and path is untouched.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return d.Close()
}
