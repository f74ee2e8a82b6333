package fnnnpy

// This file reads .npy arrays with codeberg.org/sbinet/npyio and checks them against
// their file before any value is used. It is duplicated in data/fnnnpy (the two importers
// may not import each other; STYLE.md section 2): keep the copies identical.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
)

// InputError is a problem with one source file: which file, and what is wrong with it.
// Every error about bad input that Open and Import return is, or wraps, an *InputError.
type InputError struct {
	Path string // the offending file or folder
	Msg  string // what is wrong and, where possible, what to do
	Err  error  // the underlying error, if any
}

// Error returns "path: message".
func (e *InputError) Error() string { return e.Path + ": " + e.Msg }

// Unwrap returns the underlying error.
func (e *InputError) Unwrap() error { return e.Err }

func inputErr(path, format string, args ...any) error {
	return &InputError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// dtype is a numpy element type that the importers read.
type dtype struct {
	kind byte // 'b' bool, 'u' unsigned, 'i' signed, 'f' float, 'U' unicode, 'S' bytes
	size int  // bytes per element
	name string
}

// parseDtype accepts the plain numeric, bool and fixed-width string descriptors
// ("<f4", "|u1", "<U14", ...). It rejects what npyio cannot read safely or the importers
// have no use for: object arrays (pickles, on which npyio v0.14 panics), structured
// types, float16, complex and datetime.
func parseDtype(descr string) (dtype, error) {
	s := strings.Trim(descr, "'\"")
	dt := dtype{name: s}
	if s == "" || strings.ContainsAny(s, "[(") {
		return dt, fmt.Errorf("unsupported dtype %s (a structured array): save a plain numeric array", descr)
	}
	if strings.ContainsRune("<>|=", rune(s[0])) {
		s = s[1:]
	}
	if s == "" {
		return dt, fmt.Errorf("unsupported dtype %s", descr)
	}
	dt.kind = s[0]
	n, err := strconv.Atoi(s[1:])
	if dt.kind == 'O' {
		return dt, fmt.Errorf("unsupported dtype %s (a pickled object array): save strings with a fixed-width dtype, e.g. arr.astype(str)", dt.name)
	}
	if err != nil || n <= 0 {
		return dt, fmt.Errorf("unsupported dtype %s", dt.name)
	}
	ok := false
	switch dt.kind {
	case 'b':
		ok, dt.size = n == 1, 1
	case 'u', 'i':
		ok, dt.size = n == 1 || n == 2 || n == 4 || n == 8, n
	case 'f':
		ok, dt.size = n == 4 || n == 8, n
	case 'U':
		ok, dt.size = true, 4*n
	case 'S':
		ok, dt.size = true, n
	}
	if !ok {
		return dt, fmt.Errorf("unsupported dtype %s", dt.name)
	}
	return dt, nil
}

func (d dtype) isFloat() bool  { return d.kind == 'f' }
func (d dtype) isInt() bool    { return d.kind == 'i' || d.kind == 'u' }
func (d dtype) isString() bool { return d.kind == 'U' || d.kind == 'S' }

// array is one opened .npy file whose header has been read and whose size matches it.
// Close it after reading.
type array struct {
	path    string
	dt      dtype
	shape   []int
	fortran bool // column-major element order (numpy's fortran_order)
	n       int  // number of elements
	f       *os.File
	r       *npy.Reader
}

// countReader counts the bytes npyio has consumed, which after the header is the offset
// of the data: the file size then tells whether the data is complete.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// openArray opens path, reads its header with npyio and checks that the file holds
// exactly the data the header describes. Errors are *InputError values naming path.
func openArray(path string) (*array, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &InputError{Path: path, Msg: "missing", Err: fs.ErrNotExist}
		}
		return nil, &InputError{Path: path, Msg: "cannot open: " + errors.Unwrap(err).Error(), Err: err}
	}
	a, err := readHeader(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return a, nil
}

func readHeader(f *os.File, path string) (*array, error) {
	cr := &countReader{r: bufio.NewReaderSize(f, 64<<10)}
	var r *npy.Reader
	err := guard(func() (err error) { r, err = npy.NewReader(cr); return err })
	if err != nil {
		if errors.Is(err, npy.ErrInvalidNumPyFormat) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &InputError{Path: path, Msg: "not a .npy file (no numpy header): re-save it with numpy.save", Err: err}
		}
		return nil, &InputError{Path: path, Msg: "damaged .npy header: " + err.Error(), Err: err}
	}
	dt, err := parseDtype(r.Header.Descr.Type)
	if err != nil {
		return nil, &InputError{Path: path, Msg: err.Error()}
	}
	a := &array{path: path, dt: dt, shape: r.Header.Descr.Shape, fortran: r.Header.Descr.Fortran, n: 1, f: f, r: r}
	for _, d := range a.shape {
		if d < 0 {
			return nil, inputErr(path, "negative dimension in shape %s", a.shapeString())
		}
		a.n *= d
	}
	st, err := f.Stat()
	if err != nil {
		return nil, &InputError{Path: path, Msg: "cannot stat: " + err.Error(), Err: err}
	}
	have, want := st.Size()-cr.n, int64(a.n)*int64(dt.size)
	switch {
	case have < want:
		return nil, inputErr(path, "truncated: %d bytes of data, shape %s of %s needs %d (copy the file again)", have, a.shapeString(), dt.name, want)
	case have > want:
		return nil, inputErr(path, "%d bytes after the data of shape %s of %s: not a single .npy array", have-want, a.shapeString(), dt.name)
	}
	return a, nil
}

// guard runs f, turning a panic inside npyio into an error: npyio v0.14 panics on some
// inputs (object arrays read as strings, odd headers), and bad input must be an error.
func guard(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("npyio: %v", p)
		}
	}()
	return f()
}

func (a *array) close() { a.f.Close() }

// shapeString formats the shape as numpy prints it: (9, 16, 24), (6,), ().
func (a *array) shapeString() string { return shapeString(a.shape) }

func shapeString(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// strides returns the step in elements between neighbours along each dimension, for
// the element order on disk (row-major, or column-major when fortran).
func (a *array) strides() []int {
	s := make([]int, len(a.shape))
	step := 1
	for k := range a.shape {
		i := len(a.shape) - 1 - k
		if a.fortran {
			i = k
		}
		s[i] = step
		step *= a.shape[i]
	}
	return s
}

// readErr wraps an error from reading the data, after the header was found consistent.
func (a *array) readErr(err error) error {
	return &InputError{Path: a.path, Msg: "cannot read the data: " + err.Error(), Err: err}
}

// readFloats reads every element, in file order, into dst[:a.n] as float32; float64
// data passes through *scratch, which grows as needed and is kept for the next call.
func (a *array) readFloats(dst []float32, scratch *[]float64) error {
	dst = dst[:a.n]
	if a.n == 0 {
		return nil
	}
	switch {
	case a.dt.kind == 'f' && a.dt.size == 4:
		if err := guard(func() error { return a.r.Read(&dst) }); err != nil {
			return a.readErr(err)
		}
	case a.dt.kind == 'f' && a.dt.size == 8:
		if cap(*scratch) < a.n {
			*scratch = make([]float64, a.n)
		}
		buf := (*scratch)[:a.n]
		if err := guard(func() error { return a.r.Read(&buf) }); err != nil {
			return a.readErr(err)
		}
		for i, v := range buf {
			dst[i] = float32(v)
		}
	default:
		return inputErr(a.path, "dtype %s, want float32 or float64", a.dt.name)
	}
	return nil
}

// readBytes reads every uint8 element, in file order, into dst[:a.n].
func (a *array) readBytes(dst []byte) error {
	if a.dt.kind != 'u' || a.dt.size != 1 {
		return inputErr(a.path, "dtype %s, want uint8", a.dt.name)
	}
	dst = dst[:a.n]
	if a.n == 0 {
		return nil
	}
	if err := guard(func() error { return a.r.Read(&dst) }); err != nil {
		return a.readErr(err)
	}
	return nil
}

// readAll reads a small array whole through npyio's generic Array and returns its
// elements in file order as []float64 (numbers and bools), []int64 (integers, exact) or
// []string.
func (a *array) readAll() (floats []float64, ints []int64, strs []string, err error) {
	var arr npy.Array
	if err := guard(func() error { return a.r.Read(&arr) }); err != nil {
		return nil, nil, nil, a.readErr(err)
	}
	switch v := arr.Data().(type) {
	case []string:
		return nil, nil, v, nil
	case string:
		return nil, nil, []string{v}, nil
	case []float64:
		return v, nil, nil, nil
	case []float32:
		return widen(v), nil, nil, nil
	case []bool:
		f := make([]float64, len(v))
		for i, b := range v {
			if b {
				f[i] = 1
			}
		}
		return f, nil, nil, nil
	case bool:
		if v {
			return []float64{1}, nil, nil, nil
		}
		return []float64{0}, nil, nil, nil
	case []int64:
		return widen(v), v, nil, nil
	case []int32:
		return intsOf(v)
	case []int16:
		return intsOf(v)
	case []int8:
		return intsOf(v)
	case []uint8:
		return intsOf(v)
	case []uint16:
		return intsOf(v)
	case []uint32:
		return intsOf(v)
	case []uint64:
		out := make([]int64, len(v))
		for i, x := range v {
			if x > math.MaxInt64 {
				return nil, nil, nil, inputErr(a.path, "value %d does not fit an int64", x)
			}
			out[i] = int64(x)
		}
		return widen(out), out, nil, nil
	case float64, float32, int64, int32, int16, int8, uint8, uint16, uint32:
		return a.scalar(v)
	}
	return nil, nil, nil, inputErr(a.path, "dtype %s: unexpected data type %T from npyio", a.dt.name, arr.Data())
}

// scalar turns a 0-d array's value into one-element slices.
func (a *array) scalar(v any) ([]float64, []int64, []string, error) {
	switch x := v.(type) {
	case float64:
		return []float64{x}, nil, nil, nil
	case float32:
		return []float64{float64(x)}, nil, nil, nil
	case int64:
		return intsOf([]int64{x})
	case int32:
		return intsOf([]int32{x})
	case int16:
		return intsOf([]int16{x})
	case int8:
		return intsOf([]int8{x})
	case uint8:
		return intsOf([]uint8{x})
	case uint16:
		return intsOf([]uint16{x})
	case uint32:
		return intsOf([]uint32{x})
	}
	return nil, nil, nil, inputErr(a.path, "dtype %s: unexpected scalar type %T from npyio", a.dt.name, v)
}

func intsOf[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32](v []T) ([]float64, []int64, []string, error) {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return widen(out), out, nil, nil
}

func widen[T float32 | float64 | int64](v []T) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// readSmall opens path, checks its rank and reads it whole (see readAll).
func readSmall(path string, rank int) (*array, []float64, []int64, []string, error) {
	a, err := openArray(path)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	defer a.close()
	if rank >= 0 && len(a.shape) != rank {
		return a, nil, nil, nil, inputErr(path, "shape %s, want %d dimensions", a.shapeString(), rank)
	}
	f, i, s, err := a.readAll()
	return a, f, i, s, err
}
