package npy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	npyio "codeberg.org/sbinet/npyio/npy"
)

// InputError is a problem with one source file: which file, and what is wrong with it.
// Every error of this package about a file's content is an *InputError; the importers'
// InputError types are aliases of this one, so that all their bad-input errors are too.
type InputError struct {
	Path string // the offending file or folder
	Msg  string // what is wrong and, where possible, what to do
	Err  error  // the underlying error, if any
}

// Error returns "path: message".
func (e *InputError) Error() string { return e.Path + ": " + e.Msg }

// Unwrap returns the underlying error.
func (e *InputError) Unwrap() error { return e.Err }

// Errorf returns an *InputError naming path, with the message formatted as fmt.Sprintf
// does.
func Errorf(path, format string, args ...any) error {
	return &InputError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Dtype is a numpy element type that the importers read.
type Dtype struct {
	Kind byte   // 'b' bool, 'u' unsigned, 'i' signed, 'f' float, 'U' unicode, 'S' bytes
	Size int    // bytes per element
	Name string // the descriptor without quotes, as errors print it: <f4, |u1, <U14
}

// ParseDtype accepts the plain numeric, bool and fixed-width string descriptors
// ("<f4", "|u1", "<U14", ...). It rejects what npyio cannot read safely or the importers
// have no use for: object arrays (pickles, on which npyio v0.14 panics), structured
// types, float16, complex and datetime.
func ParseDtype(descr string) (Dtype, error) {
	s := strings.Trim(descr, "'\"")
	dt := Dtype{Name: s}
	if s == "" || strings.ContainsAny(s, "[(") {
		return dt, fmt.Errorf("unsupported dtype %s (a structured array): save a plain numeric array", descr)
	}
	if strings.ContainsRune("<>|=", rune(s[0])) {
		s = s[1:]
	}
	if s == "" {
		return dt, fmt.Errorf("unsupported dtype %s", descr)
	}
	dt.Kind = s[0]
	n, err := strconv.Atoi(s[1:])
	if dt.Kind == 'O' {
		return dt, fmt.Errorf("unsupported dtype %s (a pickled object array): save strings with a fixed-width dtype, e.g. arr.astype(str)", dt.Name)
	}
	if err != nil || n <= 0 {
		return dt, fmt.Errorf("unsupported dtype %s", dt.Name)
	}
	ok := false
	switch dt.Kind {
	case 'b':
		ok, dt.Size = n == 1, 1
	case 'u', 'i':
		ok, dt.Size = n == 1 || n == 2 || n == 4 || n == 8, n
	case 'f':
		ok, dt.Size = n == 4 || n == 8, n
	case 'U':
		ok, dt.Size = true, 4*n
	case 'S':
		ok, dt.Size = true, n
	}
	if !ok {
		return dt, fmt.Errorf("unsupported dtype %s", dt.Name)
	}
	return dt, nil
}

// IsFloat reports whether d is float32 or float64.
func (d Dtype) IsFloat() bool { return d.Kind == 'f' }

// IsInt reports whether d is a signed or unsigned integer.
func (d Dtype) IsInt() bool { return d.Kind == 'i' || d.Kind == 'u' }

// IsString reports whether d is a fixed-width unicode or byte string.
func (d Dtype) IsString() bool { return d.Kind == 'U' || d.Kind == 'S' }

// Array is one opened .npy file whose header has been read and whose size matches it.
// Read its values once, with one of the Read methods, then Close it.
type Array struct {
	Path    string
	Dtype   Dtype
	Shape   []int
	Fortran bool // column-major element order (numpy's fortran_order)
	Len     int  // number of elements: the product of Shape
	f       *os.File
	r       *npyio.Reader
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

// Open opens path, reads its header with npyio and checks that the file holds exactly
// the data the header describes. Errors are *InputError values naming path.
func Open(path string) (*Array, error) {
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

func readHeader(f *os.File, path string) (*Array, error) {
	cr := &countReader{r: bufio.NewReaderSize(f, 64<<10)}
	var r *npyio.Reader
	err := guard(func() (err error) { r, err = npyio.NewReader(cr); return err })
	if err != nil {
		if errors.Is(err, npyio.ErrInvalidNumPyFormat) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &InputError{Path: path, Msg: "not a .npy file (no numpy header): re-save it with numpy.save", Err: err}
		}
		return nil, &InputError{Path: path, Msg: "damaged .npy header: " + err.Error(), Err: err}
	}
	dt, err := ParseDtype(r.Header.Descr.Type)
	if err != nil {
		return nil, &InputError{Path: path, Msg: err.Error()}
	}
	a := &Array{Path: path, Dtype: dt, Shape: r.Header.Descr.Shape, Fortran: r.Header.Descr.Fortran, Len: 1, f: f, r: r}
	for _, d := range a.Shape {
		if d < 0 {
			return nil, Errorf(path, "negative dimension in shape %s", a.ShapeString())
		}
		a.Len *= d
	}
	st, err := f.Stat()
	if err != nil {
		return nil, &InputError{Path: path, Msg: "cannot stat: " + err.Error(), Err: err}
	}
	have, want := st.Size()-cr.n, int64(a.Len)*int64(dt.Size)
	switch {
	case have < want:
		return nil, Errorf(path, "truncated: %d bytes of data, shape %s of %s needs %d (copy the file again)", have, a.ShapeString(), dt.Name, want)
	case have > want:
		return nil, Errorf(path, "%d bytes after the data of shape %s of %s: not a single .npy array", have-want, a.ShapeString(), dt.Name)
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

// Close closes the file.
func (a *Array) Close() error { return a.f.Close() }

// ShapeString formats the shape as numpy prints it: (9, 16, 24), (6,), ().
func (a *Array) ShapeString() string { return ShapeString(a.Shape) }

// ShapeString formats shape as numpy prints it: (9, 16, 24), (6,), ().
func ShapeString(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Strides returns the step in elements between neighbours along each dimension, for
// the element order on disk (row-major, or column-major when Fortran).
func (a *Array) Strides() []int {
	s := make([]int, len(a.Shape))
	step := 1
	for k := range a.Shape {
		i := len(a.Shape) - 1 - k
		if a.Fortran {
			i = k
		}
		s[i] = step
		step *= a.Shape[i]
	}
	return s
}

// readErr wraps an error from reading the data, after the header was found consistent.
func (a *Array) readErr(err error) error {
	return &InputError{Path: a.Path, Msg: "cannot read the data: " + err.Error(), Err: err}
}

// ReadFloats reads every element, in file order, into dst[:a.Len] as float32; float64
// data passes through *scratch, which grows as needed and is kept for the next call.
// Other dtypes are an error.
func (a *Array) ReadFloats(dst []float32, scratch *[]float64) error {
	dst = dst[:a.Len]
	if a.Len == 0 {
		return nil
	}
	switch {
	case a.Dtype.Kind == 'f' && a.Dtype.Size == 4:
		if err := guard(func() error { return a.r.Read(&dst) }); err != nil {
			return a.readErr(err)
		}
	case a.Dtype.Kind == 'f' && a.Dtype.Size == 8:
		if cap(*scratch) < a.Len {
			*scratch = make([]float64, a.Len)
		}
		buf := (*scratch)[:a.Len]
		if err := guard(func() error { return a.r.Read(&buf) }); err != nil {
			return a.readErr(err)
		}
		for i, v := range buf {
			dst[i] = float32(v)
		}
	default:
		return Errorf(a.Path, "dtype %s, want float32 or float64", a.Dtype.Name)
	}
	return nil
}

// ReadBytes reads every uint8 element, in file order, into dst[:a.Len]. Other dtypes
// are an error.
func (a *Array) ReadBytes(dst []byte) error {
	if a.Dtype.Kind != 'u' || a.Dtype.Size != 1 {
		return Errorf(a.Path, "dtype %s, want uint8", a.Dtype.Name)
	}
	dst = dst[:a.Len]
	if a.Len == 0 {
		return nil
	}
	if err := guard(func() error { return a.r.Read(&dst) }); err != nil {
		return a.readErr(err)
	}
	return nil
}

// ReadAll reads a small array whole through npyio's generic Array and returns its
// elements in file order as []float64 (numbers and bools), []int64 (integers, exact, and
// then also as floats) or []string.
func (a *Array) ReadAll() (floats []float64, ints []int64, strs []string, err error) {
	var arr npyio.Array
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
				return nil, nil, nil, Errorf(a.Path, "value %d does not fit an int64", x)
			}
			out[i] = int64(x)
		}
		return widen(out), out, nil, nil
	case float64, float32, int64, int32, int16, int8, uint8, uint16, uint32:
		return a.scalar(v)
	}
	return nil, nil, nil, Errorf(a.Path, "dtype %s: unexpected data type %T from npyio", a.Dtype.Name, arr.Data())
}

// scalar turns a 0-d array's value into one-element slices.
func (a *Array) scalar(v any) ([]float64, []int64, []string, error) {
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
	return nil, nil, nil, Errorf(a.Path, "dtype %s: unexpected scalar type %T from npyio", a.Dtype.Name, v)
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

// ReadSmall opens path, checks its rank (any rank when rank < 0) and reads it whole (see
// ReadAll). The returned Array is closed already; it still describes the file.
func ReadSmall(path string, rank int) (*Array, []float64, []int64, []string, error) {
	a, err := Open(path)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	defer a.Close()
	if rank >= 0 && len(a.Shape) != rank {
		return a, nil, nil, nil, Errorf(path, "shape %s, want %d dimensions", a.ShapeString(), rank)
	}
	f, i, s, err := a.ReadAll()
	return a, f, i, s, err
}

// FloatShape reads the header of path, checks that it holds float32 or float64 values
// of the given rank, and returns its shape.
func FloatShape(path string, rank int) ([]int, error) {
	a, err := Open(path)
	if err != nil {
		return nil, err
	}
	a.Close()
	if !a.Dtype.IsFloat() {
		return nil, Errorf(path, "dtype %s, want float32 or float64", a.Dtype.Name)
	}
	if len(a.Shape) != rank {
		return nil, Errorf(path, "shape %s, want %d dimensions", a.ShapeString(), rank)
	}
	return a.Shape, nil
}

// CheckFloatShape checks that path holds a float array of exactly the shape want; what
// describes want in the error, e.g. "(N, T) = (6, 24): N from ..., T from ...".
func CheckFloatShape(path string, want []int, what string) error {
	got, err := FloatShape(path, len(want))
	if err != nil {
		return err
	}
	if !slices.Equal(got, want) {
		return Errorf(path, "shape %s, want %s", ShapeString(got), what)
	}
	return nil
}
