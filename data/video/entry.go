package video

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
)

// Entry is one cached clip opened for reading: T frames of W·H bytes. ReadFrames may be
// called from several goroutines at once (it uses ReadAt).
type Entry struct {
	f     *os.File
	video string // the source video, for error messages
	p     Params
	n     int    // T
	crc   uint32 // CRC-32C of the payload, from the header
}

// Cache file layout, version 1. All integers little-endian.
//
//	offset size field
//	     0    8 magic "FMCFRAME"
//	     8    4 version (1)
//	    12    4 width W
//	    16    4 height H
//	    20    4 CRC-32C of the payload
//	    24    8 rate in Hz (float64 bits)
//	    32    8 frame count T
//	    40   32 key (SHA-256 of recipe, video content and Params)
//	    72    4 CRC-32C of bytes 0…71
//	    76    4 zero
//	    80  T·H·W payload: the frames, [T,H,W] row-major
const (
	entryMagic   = "FMCFRAME"
	entryVersion = 1
	headerSize   = 80
	entryExt     = ".frames"
)

// errBadEntry marks a cache file that must not be trusted (foreign, truncated, stale or
// corrupt); the cache decodes the video again and replaces it.
var errBadEntry = errors.New("bad frame cache entry")

// castagnoli returns the CRC-32C table (hardware-accelerated on amd64 and arm64); the
// standard library builds it once and returns the same table on every call.
func castagnoli() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) }

// crcUpdate extends a CRC-32C with b.
func crcUpdate(crc uint32, b []byte) uint32 { return crc32.Update(crc, castagnoli(), b) }

// header is the decoded fixed-size head of a cache file.
type header struct {
	width, height int
	rateHz        float64
	frames        int
	payloadCRC    uint32
	key           [sha256.Size]byte
}

// marshal encodes h in the version-1 layout.
func (h header) marshal() []byte {
	b := make([]byte, headerSize)
	copy(b, entryMagic)
	binary.LittleEndian.PutUint32(b[8:], entryVersion)
	binary.LittleEndian.PutUint32(b[12:], uint32(h.width))
	binary.LittleEndian.PutUint32(b[16:], uint32(h.height))
	binary.LittleEndian.PutUint32(b[20:], h.payloadCRC)
	binary.LittleEndian.PutUint64(b[24:], math.Float64bits(h.rateHz))
	binary.LittleEndian.PutUint64(b[32:], uint64(h.frames))
	copy(b[40:72], h.key[:])
	binary.LittleEndian.PutUint32(b[72:], crc32.Checksum(b[:72], castagnoli()))
	return b
}

// unmarshalHeader decodes and checks a version-1 header; errors wrap errBadEntry.
func unmarshalHeader(b []byte) (header, error) {
	var h header
	if len(b) < headerSize || string(b[:8]) != entryMagic {
		return h, fmt.Errorf("%w: not an fmcore frame cache file", errBadEntry)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != entryVersion {
		return h, fmt.Errorf("%w: version %d, this build reads %d", errBadEntry, v, entryVersion)
	}
	if crc32.Checksum(b[:72], castagnoli()) != binary.LittleEndian.Uint32(b[72:]) {
		return h, fmt.Errorf("%w: header checksum mismatch", errBadEntry)
	}
	h.width = int(binary.LittleEndian.Uint32(b[12:]))
	h.height = int(binary.LittleEndian.Uint32(b[16:]))
	h.payloadCRC = binary.LittleEndian.Uint32(b[20:])
	h.rateHz = math.Float64frombits(binary.LittleEndian.Uint64(b[24:]))
	frames := binary.LittleEndian.Uint64(b[32:])
	if frames == 0 || frames > math.MaxInt32 {
		return h, fmt.Errorf("%w: frame count %d", errBadEntry, frames)
	}
	h.frames = int(frames)
	copy(h.key[:], b[40:72])
	return h, nil
}

// openEntry opens the cache file and checks its header against the expected key and
// Params and its length against the header; errors other than a missing file or an
// I/O failure wrap errBadEntry.
func openEntry(file, video string, key [sha256.Size]byte, p Params) (*Entry, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("frame cache: %w", err)
	}
	e, err := checkEntry(f, video, key, p)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("frame cache entry %s: %w", file, err)
	}
	return e, nil
}

// checkEntry reads and checks the header of an open cache file.
func checkEntry(f *os.File, video string, key [sha256.Size]byte, p Params) (*Entry, error) {
	b := make([]byte, headerSize)
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("%w: read header: %v", errBadEntry, err)
	}
	h, err := unmarshalHeader(b)
	if err != nil {
		return nil, err
	}
	switch {
	case !bytes.Equal(h.key[:], key[:]):
		return nil, fmt.Errorf("%w: key does not match its name", errBadEntry)
	case h.width != p.Width || h.height != p.Height || h.rateHz != p.RateHz:
		return nil, fmt.Errorf("%w: holds %d×%d at %v Hz, want %d×%d at %v Hz",
			errBadEntry, h.width, h.height, h.rateHz, p.Width, p.Height, p.RateHz)
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if want := headerSize + int64(h.frames)*int64(p.FrameBytes()); st.Size() != want {
		return nil, fmt.Errorf("%w: %d bytes, header says %d frames = %d bytes", errBadEntry, st.Size(), h.frames, want)
	}
	return &Entry{f: f, video: video, p: p, n: h.frames, crc: h.payloadCRC}, nil
}

// Len returns T, the number of frames.
func (e *Entry) Len() int { return e.n }

// Params returns the decode target the frames were made for.
func (e *Entry) Params() Params { return e.p }

// ReadFrames reads frames start … start+n−1 into dst[:n·H·W] ([n,H,W] row-major) without
// reading the rest of the entry. The payload checksum is not verified here (that would
// read the whole entry); the header and length are checked when the entry is opened.
func (e *Entry) ReadFrames(start, n int, dst []byte) error {
	if start < 0 || n < 0 || start > e.n-n {
		return fmt.Errorf("read frames of video %s: window [%d, %d) outside its %d frames", e.video, start, start+n, e.n)
	}
	fb := e.p.FrameBytes()
	if len(dst) < n*fb {
		return fmt.Errorf("read frames of video %s: buffer holds %d bytes, want n·H·W = %d", e.video, len(dst), n*fb)
	}
	if _, err := e.f.ReadAt(dst[:n*fb], headerSize+int64(start)*int64(fb)); err != nil {
		return fmt.Errorf("read frames of video %s from cache: %w", e.video, err)
	}
	return nil
}

// readAll reads every frame and verifies the payload checksum; a mismatch wraps
// errBadEntry.
func (e *Entry) readAll() ([]byte, error) {
	b := make([]byte, e.n*e.p.FrameBytes())
	if err := e.ReadFrames(0, e.n, b); err != nil {
		return nil, err
	}
	if crc32.Checksum(b, castagnoli()) != e.crc {
		return nil, fmt.Errorf("frame cache entry %s: %w: payload checksum mismatch", e.f.Name(), errBadEntry)
	}
	return b, nil
}

// Close closes the cache file.
func (e *Entry) Close() error { return e.f.Close() }
