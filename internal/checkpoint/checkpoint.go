package checkpoint

import (
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Version is the format version this package writes and the newest one it reads.
const Version uint32 = 1

// Names inside a checkpoint folder.
const (
	// CoreFile is the file of the shared weights, directly in the checkpoint folder.
	CoreFile = "core.fmck"
	// SessionsDir is the sub-folder holding one file per session, named <session-key>.fmck.
	SessionsDir = "sessions"
	// ConfigFile is the copy of the effective config for people; readers use the headers.
	ConfigFile = "config.yaml"
	// Ext is the extension of every checkpoint file.
	Ext = ".fmck"
)

// Layout constants of a .fmck file (docs/FORMAT.md, "Checkpoints").
const (
	// magic starts every file; the high byte and the CR LF SUB sequence catch text-mode
	// transfers and truncated copies, as PNG's signature does.
	magic = "\x89FMCK\r\n\x1a"
	// preambleSize is magic (8) + version uint32 + header CRC-32C uint32 + header length uint64.
	preambleSize = 24
	// alignment of the data section and of every tensor, in bytes: a cache line, and enough
	// for any SIMD load or a later memory-mapped reader.
	alignment = 64
	// maxHeaderBytes bounds the JSON header so that a corrupt length cannot make a reader
	// allocate without limit; 64 MiB holds hundreds of thousands of tensor entries.
	maxHeaderBytes = 64 << 20
	// maxRank bounds the number of dimensions of a tensor; fmcore's weights have at most 5.
	maxRank = 8
	// maxNameBytes bounds tensor names and session keys.
	maxNameBytes = 1024
	// dtypeFloat32 is the only element type of format version 1.
	dtypeFloat32 = "float32"
)

// Kind says which part of a model a checkpoint file holds.
type Kind string

// Kinds of checkpoint files.
const (
	// KindCore marks the file of shared weights (the foundation core and whatever else the
	// caller shares across sessions, e.g. optimizer state).
	KindCore Kind = "core"
	// KindSession marks the file of one session's perspective, modulation and readout.
	KindSession Kind = "session"
)

// Tensor is one named float32 array, row-major (C order) in the order of Shape.
type Tensor struct {
	Name  string    // e.g. "core.feedforward.inputs.0.weight.1" (params.md naming)
	Shape []int     // dimensions, e.g. [C, 1, 1, 6, 6]; empty for a scalar
	Data  []float32 // [product of Shape]
}

// TensorInfo is one entry of a file's tensor table: where a tensor's data lies and its checksum.
type TensorInfo struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
	DType string `json:"dtype"` // always "float32" in version 1
	// Offset is the byte offset of the data from the start of the data section, which begins
	// at the first multiple of 64 after the header; a multiple of 64.
	Offset int64 `json:"offset"`
	// CRC32C is the Castagnoli CRC-32 of the tensor's little-endian bytes.
	CRC32C uint32 `json:"crc32c"`
}

// Header is the self-description of one checkpoint file, stored as JSON after the magic bytes.
type Header struct {
	// FormatVersion is the version the file was written in; WriteFile sets it to Version.
	FormatVersion uint32 `json:"format_version"`
	// FmcoreVersion is the version string of the binary that wrote the file (buildinfo).
	FmcoreVersion string `json:"fmcore_version"`
	// Kind is KindCore or KindSession.
	Kind Kind `json:"kind"`
	// Session is the session key ("7-1") of a KindSession file; empty for KindCore.
	Session string `json:"session,omitempty"`
	// Config is the full effective config (YAML) the weights were built from.
	Config string `json:"config"`
	// Seed is the seed of the run that produced the weights.
	Seed uint64 `json:"seed"`
	// Created is the creation time; WriteFile uses the current time when it is zero. It is
	// stored with nanosecond precision and its zone offset: compare with time.Time.Equal.
	Created time.Time `json:"created"`
	// Metadata holds free-form strings: epoch, scores, training progress for a resume.
	Metadata map[string]string `json:"metadata,omitempty"`
	// Tensors is the tensor table. WriteFile computes it and ignores what the caller sets;
	// ReadFile and ReadHeader fill it.
	Tensors []TensorInfo `json:"tensors"`
}

// File is the content of one checkpoint file: its header and its tensors.
type File struct {
	Header  Header
	Tensors []Tensor
}

// Options sets the policy of reading and writing; the zero value is the strict default used by
// the package-level functions.
type Options struct {
	// AllowNonFinite accepts NaN and ±Inf tensor values. By default writing or reading one is
	// an ErrNonFinite error: a checkpoint of a diverged run is rarely wanted, and a NaN loaded
	// without notice poisons every later step.
	AllowNonFinite bool
}

// Sentinel errors; every error of this package wraps one of them (or an os error) and can be
// tested with errors.Is.
var (
	// ErrNotCheckpoint: the file or folder is not an fmcore checkpoint at all.
	ErrNotCheckpoint = errors.New("not an fmcore checkpoint")
	// ErrVersion: the file was written by a newer format version than this binary reads.
	ErrVersion = errors.New("unsupported checkpoint version")
	// ErrCorrupt: the file is a checkpoint but damaged or inconsistent (truncated, bad
	// checksum, bad table).
	ErrCorrupt = errors.New("corrupt checkpoint")
	// ErrMismatch: the tensors do not match the names and shapes the model expects.
	ErrMismatch = errors.New("checkpoint does not match the model")
	// ErrNonFinite: a tensor holds NaN or ±Inf and Options.AllowNonFinite is off.
	ErrNonFinite = errors.New("non-finite value in checkpoint")
	// ErrInvalid: the caller asked to write something the format cannot hold (a shape that
	// does not fit the data, a duplicate name, a bad session key).
	ErrInvalid = errors.New("invalid checkpoint contents")
)

// Error is a failure concerning one checkpoint file or one tensor in it. Its message is one
// line: "<op> <path>: tensor <name>: <detail>", leaving out the parts that are empty.
type Error struct {
	Op     string // what was being done: "read", "write", "save", "load", "match"
	Path   string // the file or folder
	Tensor string // the tensor concerned, if any
	Err    error  // the sentinel: ErrCorrupt, ErrVersion, …
	Detail string // what is wrong and, where possible, what to do
}

// Error formats e on one line; names that contain odd characters are quoted.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Path != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(printable(e.Path))
	}
	if e.Tensor != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString("tensor ")
		b.WriteString(printable(e.Tensor))
	}
	if e.Detail != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(strings.ReplaceAll(e.Detail, "\n", `\n`))
	}
	return b.String()
}

// Unwrap returns the sentinel, so that errors.Is(err, ErrCorrupt) works.
func (e *Error) Unwrap() error { return e.Err }

// errorf builds an *Error without file context; the exported entry points add Op and Path.
func errorf(sentinel error, tensor, detail string) *Error {
	return &Error{Err: sentinel, Tensor: tensor, Detail: detail}
}

// withPath sets the operation and path of err when it is an *Error without them, and wraps any
// other error with the same context.
func withPath(err error, op, path string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Path != "" {
			return err
		}
		c := *e
		c.Op, c.Path = op, path
		return &c
	}
	detail := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		detail = pe.Op + ": " + pe.Err.Error() // the path is already in the message
	}
	return &Error{Op: op, Path: path, Err: err, Detail: detail}
}

// printable returns s, quoted when it holds characters that would break a one-line message.
func printable(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || (unicode.IsSpace(r) && r != ' ') {
			return strconv.Quote(s)
		}
	}
	return s
}

// checkName reports why name cannot be a tensor name: it must be non-empty valid UTF-8 of at
// most maxNameBytes without spaces or control characters, so that it prints on one line.
func checkName(name string) string {
	switch {
	case name == "":
		return "empty tensor name"
	case len(name) > maxNameBytes:
		return "tensor name longer than " + strconv.Itoa(maxNameBytes) + " bytes"
	case !utf8.ValidString(name):
		return "tensor name " + strconv.Quote(name) + " is not valid UTF-8"
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return "tensor name " + strconv.Quote(name) + " contains a space or control character"
		}
	}
	return ""
}

// CheckSessionKey returns an ErrInvalid error when key cannot name a session file: it must be
// non-empty, at most 1024 bytes of ASCII letters, digits, '.', '_' and '-', and must not start
// with '.'. Keys such as "7-1" (data.SessionID.String) qualify.
func CheckSessionKey(key string) error {
	if reason := sessionKeyProblem(key); reason != "" {
		return &Error{Err: ErrInvalid, Detail: reason}
	}
	return nil
}

// sessionKeyProblem says why key is not a valid session key, naming it, or returns "".
func sessionKeyProblem(key string) string {
	q := "session key " + strconv.Quote(key)
	switch {
	case key == "":
		return "empty session key"
	case len(key) > maxNameBytes:
		return "session key longer than " + strconv.Itoa(maxNameBytes) + " bytes"
	case key[0] == '.':
		return q + " starts with '.'"
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return q + " may only hold letters, digits, '.', '_' and '-' (it names a file)"
		}
	}
	return ""
}

// checkKind reports why the kind and session key of a header do not fit together.
func checkKind(h *Header) string {
	switch h.Kind {
	case KindCore:
		if h.Session != "" {
			return "kind core with session key " + strconv.Quote(h.Session) + " (only session files have one)"
		}
	case KindSession:
		if reason := sessionKeyProblem(h.Session); reason != "" {
			return "kind session with " + reason
		}
	default:
		return "kind " + strconv.Quote(string(h.Kind)) + ", want \"core\" or \"session\""
	}
	return ""
}

// numel returns the number of elements of shape, or ok == false when a dimension is negative,
// the rank exceeds maxRank or the count exceeds limit.
func numel(shape []int, limit int64) (n int64, ok bool) {
	if len(shape) > maxRank {
		return 0, false
	}
	n = 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d == 0 {
			n = 0
			continue
		}
		if n > limit/int64(d) {
			return 0, false
		}
		n *= int64(d)
	}
	if n > limit {
		return 0, false
	}
	return n, true
}

// alignUp rounds n up to a multiple of alignment.
func alignUp(n int64) int64 { return (n + alignment - 1) / alignment * alignment }
