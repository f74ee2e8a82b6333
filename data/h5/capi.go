package h5

// This file holds the few HDF5 C calls that gonum.org/v1/hdf5 lacks (TOOLCHAIN.md §4):
// per-thread error silencing and error-stack reading, datatype and dataspace inspection,
// reads with an explicit memory type (so HDF5 itself rejects or converts a mismatched
// type instead of overflowing a Go buffer), fixed- and variable-length string I/O,
// attribute listing, and the open-object count checked before a file is renamed.

/*
#cgo pkg-config: hdf5
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hdf5.h>

// fm_info describes the element type and dataspace of a dataset or attribute.
typedef struct {
	int cls;      // H5T_class_t of the stored element type
	size_t size;  // bytes per stored element
	int sign;     // H5T_sign_t for integers
	int vlen_str; // 1 for a variable-length string
	int rank;     // dimensions; 0 for a scalar, -1 for a null dataspace
	hsize_t dims[H5S_MAX_RANK];
} fm_info;

// The library is built thread-safe, so automatic error printing and the error stack are
// per thread: every entry point silences and clears the stack of the thread it runs on.
static void fm_quiet(void) {
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	H5Eclear2(H5E_DEFAULT);
}

static herr_t fm_walk(unsigned n, const H5E_error2_t *e, void *p) {
	if (n == 0 && e->desc != NULL) {
		strncpy((char *)p, e->desc, 511);
		((char *)p)[511] = 0;
	}
	return 0;
}

// fm_last_error copies the most specific message of the calling thread's error stack
// into buf (512 bytes).
static void fm_last_error(char *buf) {
	buf[0] = 0;
	H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, fm_walk, buf);
}

// Every API call clears the error stack on entry, so the cleanup after a failure would
// erase its message: fm_keep saves the stack of a failed call (rc < 0) and fm_restore
// puts it back once the cleanup is done.
static hid_t fm_keep(int rc) { return rc < 0 ? H5Eget_current_stack() : -1; }
static void fm_restore(hid_t es) { if (es >= 0) H5Eset_current_stack(es); }

// fm_fill fills in from a type and a space, closing both.
static int fm_fill(hid_t type, hid_t space, fm_info *in) {
	int rc = -1;
	if (type < 0 || space < 0) goto done;
	in->cls = H5Tget_class(type);
	in->size = H5Tget_size(type);
	in->sign = in->cls == H5T_INTEGER ? H5Tget_sign(type) : 0;
	in->vlen_str = in->cls == H5T_STRING && H5Tis_variable_str(type) > 0;
	if (H5Sget_simple_extent_type(space) == H5S_NULL) {
		in->rank = -1;
		rc = 0;
		goto done;
	}
	in->rank = H5Sget_simple_extent_ndims(space);
	if (in->rank < 0) goto done;
	if (in->rank > 0 && H5Sget_simple_extent_dims(space, in->dims, NULL) < 0) goto done;
	rc = 0;
done:;
	hid_t es = fm_keep(rc);
	if (type >= 0) H5Tclose(type);
	if (space >= 0) H5Sclose(space);
	fm_restore(es);
	return rc;
}

static int fm_dset_info(hid_t loc, const char *name, fm_info *in) {
	hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
	if (d < 0) return -1;
	int rc = fm_fill(H5Dget_type(d), H5Dget_space(d), in);
	hid_t es = fm_keep(rc);
	H5Dclose(d);
	fm_restore(es);
	return rc;
}

static int fm_attr_info(hid_t loc, const char *name, fm_info *in) {
	hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
	if (a < 0) return -1;
	int rc = fm_fill(H5Aget_type(a), H5Aget_space(a), in);
	hid_t es = fm_keep(rc);
	H5Aclose(a);
	fm_restore(es);
	return rc;
}

// fm_obj_type returns 0 when loc has no link name, 1 for a group, 2 for a dataset,
// 3 for anything else and -1 when the link cannot be resolved.
static int fm_obj_type(hid_t loc, const char *name) {
	htri_t ok = H5Lexists(loc, name, H5P_DEFAULT);
	if (ok < 0) return -1;
	if (ok == 0) return 0;
	H5O_info_t oi;
	if (H5Oget_info_by_name2(loc, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return -1;
	if (oi.type == H5O_TYPE_GROUP) return 1;
	if (oi.type == H5O_TYPE_DATASET) return 2;
	return 3;
}

// fm_read reads dataset name of loc, or group/name when group is not empty, into buf
// as float32 (kind 0) or int64 (kind 1), HDF5 converting from the stored type. With
// rank 0 it reads the whole dataset, which must hold n values; with rank 1 or 2 it reads
// rows [start, start+n) of a dataset [T] or [T,width], which must have that rank and
// width. The checks keep a mismatched file from overflowing buf.
static int fm_read(hid_t loc, const char *group, const char *name, int kind, int rank,
		hsize_t start, hsize_t n, hsize_t width, void *buf) {
	int rc = -1;
	char path[1024];
	hid_t fs = -1, ms = -1, d = -1;
	if (group[0] != 0) {
		if (snprintf(path, sizeof path, "%s/%s", group, name) >= (int)sizeof path) return -1;
		name = path;
	}
	d = H5Dopen2(loc, name, H5P_DEFAULT);
	if (d < 0) return -1;
	fs = H5Dget_space(d);
	if (fs < 0) goto done;
	hsize_t dims[H5S_MAX_RANK];
	int r = H5Sget_simple_extent_ndims(fs);
	if (r < 0 || H5Sget_simple_extent_dims(fs, dims, NULL) < 0) goto done;
	if (rank == 0) {
		if (H5Sget_simple_extent_npoints(fs) != (hssize_t)n) goto done;
		ms = H5Scopy(fs);
	} else {
		if (r != rank || start + n > dims[0] || (rank == 2 && dims[1] != width)) goto done;
		hsize_t off[2] = {start, 0}, cnt[2] = {n, width};
		if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL) < 0) goto done;
		ms = H5Screate_simple(rank, cnt, NULL);
	}
	if (ms < 0) goto done;
	if (H5Dread(d, kind == 0 ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, buf) < 0) goto done;
	rc = 0;
done:;
	hid_t es = fm_keep(rc);
	if (ms >= 0) H5Sclose(ms);
	if (fs >= 0) H5Sclose(fs);
	H5Dclose(d);
	fm_restore(es);
	return rc;
}

// fm_write_dset creates dataset name [dims] stored as little-endian float32 (kind 0) or
// int64 (kind 1), chunked by chunk and deflate-compressed at level, and writes buf.
static int fm_write_dset(hid_t loc, const char *name, int kind, int rank,
		const hsize_t *dims, const hsize_t *chunk, int level, const void *buf) {
	int rc = -1;
	hid_t ft = kind == 0 ? H5T_IEEE_F32LE : H5T_STD_I64LE;
	hid_t mt = kind == 0 ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT64;
	hid_t d = -1, dcpl = -1;
	hid_t sp = H5Screate_simple(rank, dims, NULL);
	if (sp < 0) return -1;
	dcpl = H5Pcreate(H5P_DATASET_CREATE);
	if (dcpl < 0) goto done;
	// No modification times: identical content gives a byte-identical file.
	if (H5Pset_chunk(dcpl, rank, chunk) < 0 || H5Pset_deflate(dcpl, level) < 0 ||
		H5Pset_obj_track_times(dcpl, 0) < 0) goto done;
	d = H5Dcreate2(loc, name, ft, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
	if (d < 0) goto done;
	if (H5Dwrite(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) goto done;
	rc = 0;
done:;
	hid_t es = fm_keep(rc);
	if (d >= 0) H5Dclose(d);
	if (dcpl >= 0) H5Pclose(dcpl);
	H5Sclose(sp);
	fm_restore(es);
	return rc;
}

// fm_read_num_attr reads the single value of attribute name as float64 (kind 0) or
// int64 (kind 1); HDF5 converts from any integer or float width.
static int fm_read_num_attr(hid_t loc, const char *name, int kind, void *out) {
	hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
	if (a < 0) return -1;
	int rc = H5Aread(a, kind == 0 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64, out) < 0 ? -1 : 0;
	hid_t es = fm_keep(rc);
	H5Aclose(a);
	fm_restore(es);
	return rc;
}

// fm_str_type returns a memory string type matching file type ft in length kind,
// character set and padding (HDF5 does not convert between ASCII and UTF-8).
static hid_t fm_str_type(hid_t ft) {
	hid_t mt = H5Tcopy(H5T_C_S1);
	if (mt < 0) return -1;
	int vlen = H5Tis_variable_str(ft) > 0;
	if (H5Tset_size(mt, vlen ? H5T_VARIABLE : H5Tget_size(ft)) < 0 ||
			H5Tset_cset(mt, H5Tget_cset(ft)) < 0 ||
			(!vlen && H5Tset_strpad(mt, H5Tget_strpad(ft)) < 0)) {
		H5Tclose(mt);
		return -1;
	}
	return mt;
}

// fm_read_strs reads the n strings of a string dataset (is_attr 0) or attribute (1)
// into out[0..n), each a malloc'd NUL-terminated copy without fixed-length padding.
static int fm_read_strs(hid_t loc, const char *name, int is_attr, size_t n, char **out) {
	int rc = -1;
	hid_t ft = -1, sp = -1, mt = -1;
	char **vl = NULL, *raw = NULL;
	hid_t obj = is_attr ? H5Aopen(loc, name, H5P_DEFAULT) : H5Dopen2(loc, name, H5P_DEFAULT);
	if (obj < 0) return -1;
	ft = is_attr ? H5Aget_type(obj) : H5Dget_type(obj);
	sp = is_attr ? H5Aget_space(obj) : H5Dget_space(obj);
	if (ft < 0 || sp < 0 || H5Tget_class(ft) != H5T_STRING) goto done;
	if (H5Sget_simple_extent_npoints(sp) != (hssize_t)n) goto done;
	mt = fm_str_type(ft);
	if (mt < 0) goto done;
	if (H5Tis_variable_str(ft) > 0) {
		vl = calloc(n ? n : 1, sizeof(char *));
		if (vl == NULL) goto done;
		herr_t e = is_attr ? H5Aread(obj, mt, vl) : H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, vl);
		if (e < 0) goto done;
		for (size_t i = 0; i < n; i++) out[i] = strdup(vl[i] ? vl[i] : "");
		H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, vl);
	} else {
		size_t sz = H5Tget_size(ft);
		raw = malloc(n * sz + 1);
		if (raw == NULL) goto done;
		herr_t e = is_attr ? H5Aread(obj, mt, raw) : H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw);
		if (e < 0) goto done;
		int space = H5Tget_strpad(ft) == H5T_STR_SPACEPAD;
		for (size_t i = 0; i < n; i++) {
			const char *s = raw + i * sz;
			size_t len = strnlen(s, sz);
			while (space && len > 0 && s[len - 1] == ' ') len--;
			out[i] = malloc(len + 1);
			if (out[i] != NULL) {
				memcpy(out[i], s, len);
				out[i][len] = 0;
			}
		}
	}
	rc = 0;
	for (size_t i = 0; i < n; i++) if (out[i] == NULL) rc = -1;
done:;
	hid_t es = fm_keep(rc);
	free(vl);
	free(raw);
	if (mt >= 0) H5Tclose(mt);
	if (sp >= 0) H5Sclose(sp);
	if (ft >= 0) H5Tclose(ft);
	if (is_attr) H5Aclose(obj); else H5Dclose(obj);
	fm_restore(es);
	return rc;
}

// fm_write_strs writes n variable-length UTF-8 strings as a dataset (is_attr 0) or
// attribute (1); scalar selects a scalar dataspace (n must be 1).
static int fm_write_strs(hid_t loc, const char *name, int is_attr, int scalar, size_t n, char **vals) {
	int rc = -1;
	hsize_t dim = n;
	hid_t obj = -1, sp = -1, dcpl = -1;
	hid_t t = H5Tcopy(H5T_C_S1);
	if (t < 0) return -1;
	if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) goto done;
	sp = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
	if (sp < 0) goto done;
	if (!is_attr) {
		dcpl = H5Pcreate(H5P_DATASET_CREATE);
		if (dcpl < 0 || H5Pset_obj_track_times(dcpl, 0) < 0) goto done;
	}
	obj = is_attr ? H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)
	              : H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
	if (obj < 0) goto done;
	herr_t e = is_attr ? H5Awrite(obj, t, vals) : H5Dwrite(obj, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, vals);
	rc = e < 0 ? -1 : 0;
done:;
	hid_t es = fm_keep(rc);
	if (obj >= 0) { if (is_attr) H5Aclose(obj); else H5Dclose(obj); }
	if (sp >= 0) H5Sclose(sp);
	if (dcpl >= 0) H5Pclose(dcpl);
	H5Tclose(t);
	fm_restore(es);
	return rc;
}

// fm_write_num_attr writes a scalar float64 (kind 0) or int64 (kind 1) attribute.
static int fm_write_num_attr(hid_t loc, const char *name, int kind, const void *v) {
	hid_t t = kind == 0 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64;
	hid_t sp = H5Screate(H5S_SCALAR);
	if (sp < 0) return -1;
	hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
	hid_t es = fm_keep(a < 0 ? -1 : 0);
	H5Sclose(sp);
	fm_restore(es);
	if (a < 0) return -1;
	int rc = H5Awrite(a, t, v) < 0 ? -1 : 0;
	es = fm_keep(rc);
	H5Aclose(a);
	fm_restore(es);
	return rc;
}

static long long fm_attr_count(hid_t loc) {
	H5O_info_t oi;
	if (H5Oget_info2(loc, &oi, H5O_INFO_NUM_ATTRS) < 0) return -1;
	return (long long)oi.num_attrs;
}

// fm_attr_name copies the name of the i-th attribute (in name order) into buf and
// returns its length; with size 0 it only returns the length.
static long long fm_attr_name(hid_t loc, hsize_t i, char *buf, size_t size) {
	return H5Aget_name_by_idx(loc, ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, size, H5P_DEFAULT);
}

static long long fm_open_objects(hid_t file) {
	return H5Fget_obj_count(file, H5F_OBJ_ALL | H5F_OBJ_LOCAL);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"path"
	"runtime"
	"strings"
	"unsafe"

	"gonum.org/v1/hdf5"
)

// object is any open HDF5 location (file, group, dataset) of the gonum binding.
type object interface{ ID() int64 }

func hid(o object) C.hid_t { return C.hid_t(o.ID()) }

// pin locks the calling goroutine to its OS thread and silences HDF5's error printing
// on that thread, for the duration of one exported call: the thread-safe library keeps
// its error stack per thread, so a failure must be read back on the thread that caused
// it and the silencing done once at start-up covers only the start-up thread. Use as
// `defer pin()()`.
func pin() func() {
	runtime.LockOSThread()
	C.fm_quiet()
	return runtime.UnlockOSThread
}

// lastError returns HDF5's most specific message for the last failure on this thread,
// or "" when the stack is empty.
func lastError() string {
	var buf [512]C.char
	C.fm_last_error(&buf[0])
	return C.GoString(&buf[0])
}

// h5error wraps a failed HDF5 call with the library's own message.
func h5error(what string) error {
	if msg := lastError(); msg != "" {
		return fmt.Errorf("%s: %s", what, msg)
	}
	return errors.New(what)
}

// info describes a dataset or attribute: its element type and dimensions.
type info struct {
	class   hdf5.TypeClass
	size    int  // bytes per stored element
	signed  bool // for integers
	vlenStr bool
	rank    int   // 0 scalar, -1 null dataspace
	dims    []int // [rank]
}

func (in info) isFloat32() bool { return in.class == hdf5.T_FLOAT && in.size == 4 }
func (in info) isInteger() bool { return in.class == hdf5.T_INTEGER }
func (in info) isNumber() bool  { return in.class == hdf5.T_INTEGER || in.class == hdf5.T_FLOAT }
func (in info) isString() bool  { return in.class == hdf5.T_STRING }

// isScalar reports whether the object holds exactly one value (rank 0, or rank 1 of
// length 1 as some writers store single values).
func (in info) isScalar() bool {
	return in.rank == 0 || (in.rank == 1 && in.dims[0] == 1)
}

// points returns the number of elements.
func (in info) points() int {
	if in.rank < 0 {
		return 0
	}
	n := 1
	for _, d := range in.dims {
		n *= d
	}
	return n
}

// dtype names the element type the way numpy would ("float64", "uint8", "string").
func (in info) dtype() string {
	switch in.class {
	case hdf5.T_FLOAT:
		return fmt.Sprintf("float%d", 8*in.size)
	case hdf5.T_INTEGER:
		if in.signed {
			return fmt.Sprintf("int%d", 8*in.size)
		}
		return fmt.Sprintf("uint%d", 8*in.size)
	case hdf5.T_STRING:
		if in.vlenStr {
			return "string (variable length)"
		}
		return fmt.Sprintf("string (fixed length %d)", in.size)
	case hdf5.T_COMPOUND:
		return "compound"
	case hdf5.T_ENUM:
		return "enum"
	case hdf5.T_OPAQUE:
		return "opaque"
	case hdf5.T_ARRAY:
		return "array"
	case hdf5.T_VLEN:
		return "variable-length sequence"
	case hdf5.T_REFERENCE:
		return "reference"
	case hdf5.T_BITFIELD:
		return "bitfield"
	}
	return fmt.Sprintf("HDF5 type class %d", int(in.class))
}

// shape formats the dimensions as "[300,36]" ("scalar" for rank 0).
func (in info) shape() string {
	switch in.rank {
	case -1:
		return "empty (null dataspace)"
	case 0:
		return "scalar"
	}
	return shapeString(in.dims)
}

func shapeString(dims []int) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func fillInfo(c *C.fm_info) info {
	in := info{
		class:   hdf5.TypeClass(c.cls),
		size:    int(c.size),
		signed:  c.sign == C.H5T_SGN_2,
		vlenStr: c.vlen_str != 0,
		rank:    int(c.rank),
	}
	if in.rank > 0 {
		in.dims = make([]int, in.rank)
		for i := range in.dims {
			in.dims[i] = int(c.dims[i])
		}
	}
	return in
}

func datasetInfo(loc object, name string) (info, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var c C.fm_info
	if C.fm_dset_info(hid(loc), cname, &c) < 0 {
		return info{}, h5error("read dataset type and shape")
	}
	return fillInfo(&c), nil
}

func attrInfo(loc object, name string) (info, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var c C.fm_info
	if C.fm_attr_info(hid(loc), cname, &c) < 0 {
		return info{}, h5error("read attribute type and shape")
	}
	return fillInfo(&c), nil
}

// objKind is what a link in a group points to.
type objKind int

const (
	objMissing objKind = iota
	objGroup
	objDataset
	objOther
)

func (k objKind) String() string {
	return [...]string{"missing", "a group", "a dataset", "a named datatype"}[k]
}

// objectKind returns what link name of loc points to (objMissing when absent).
func objectKind(loc object, name string) (objKind, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	switch C.fm_obj_type(hid(loc), cname) {
	case 0:
		return objMissing, nil
	case 1:
		return objGroup, nil
	case 2:
		return objDataset, nil
	case 3:
		return objOther, nil
	}
	return objMissing, h5error("resolve link")
}

// readAllFloat32 reads the whole float32 dataset name of loc into dst, which must have
// its size. HDF5 converts the stored type to float32; callers check the stored type
// first, because the format requires float32.
func readAllFloat32(loc object, name string, dst []float32) error {
	if len(dst) == 0 {
		return nil
	}
	return readData(loc, "", name, 0, 0, 0, len(dst), 0, unsafe.Pointer(&dst[0]))
}

// readAllInt64 reads the whole integer dataset (any width) name of loc as int64.
func readAllInt64(loc object, name string, dst []int64) error {
	if len(dst) == 0 {
		return nil
	}
	return readData(loc, "", name, 1, 0, 0, len(dst), 0, unsafe.Pointer(&dst[0]))
}

// readRows reads rows [start, start+n) of the float32 dataset group/name of loc into
// dst: a dataset [T] when width is 0, else [T,width]. It does not allocate.
func readRows(loc object, group, name string, start, n, width int, dst []float32) error {
	rank := 2
	if width == 0 {
		rank, width = 1, 1
	}
	if len(dst) != n*width || n == 0 {
		return fmt.Errorf("read %s/%s: internal: buffer of %d values for %d×%d", group, name, len(dst), n, width)
	}
	return readData(loc, group, name, 0, C.int(rank), start, n, width, unsafe.Pointer(&dst[0]))
}

func readData(loc object, group, name string, kind, rank C.int, start, n, width int, buf unsafe.Pointer) error {
	cgroup, cname := C.CString(group), C.CString(name)
	defer C.free(unsafe.Pointer(cgroup))
	defer C.free(unsafe.Pointer(cname))
	if C.fm_read(hid(loc), cgroup, cname, kind, rank, C.hsize_t(start), C.hsize_t(n), C.hsize_t(width), buf) < 0 {
		return h5error("read " + path.Join(group, name))
	}
	return nil
}

// writeFloat32 writes values as a chunked, deflate-compressed float32 dataset [dims].
func writeFloat32(loc object, name string, values []float32, dims []int) error {
	if len(values) == 0 || prod(dims) != len(values) {
		return fmt.Errorf("write %s: internal: %d values for %s", name, len(values), shapeString(dims))
	}
	return writeDataset(loc, name, 0, dims, 4, unsafe.Pointer(&values[0]))
}

// writeInt64 writes values as a chunked, deflate-compressed int64 dataset [dims].
func writeInt64(loc object, name string, values []int64, dims []int) error {
	if len(values) == 0 || prod(dims) != len(values) {
		return fmt.Errorf("write %s: internal: %d values for %s", name, len(values), shapeString(dims))
	}
	return writeDataset(loc, name, 1, dims, 8, unsafe.Pointer(&values[0]))
}

func writeDataset(loc object, name string, kind C.int, dims []int, elem int, buf unsafe.Pointer) error {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var cd, cc [C.H5S_MAX_RANK]C.hsize_t
	for i, c := range chunkDims(dims, elem) {
		cd[i], cc[i] = C.hsize_t(dims[i]), C.hsize_t(c)
	}
	if C.fm_write_dset(hid(loc), cname, kind, C.int(len(dims)), &cd[0], &cc[0], deflateLevel, buf) < 0 {
		return h5error("write " + name)
	}
	return nil
}

// readFloatAttr reads a single-valued integer or float attribute as float64.
func readFloatAttr(loc object, name string) (float64, error) {
	var v C.double
	if err := readNumAttr(loc, name, 0, unsafe.Pointer(&v)); err != nil {
		return 0, err
	}
	return float64(v), nil
}

// readIntAttr reads a single-valued integer attribute of any width as int64.
func readIntAttr(loc object, name string) (int64, error) {
	var v C.int64_t
	if err := readNumAttr(loc, name, 1, unsafe.Pointer(&v)); err != nil {
		return 0, err
	}
	return int64(v), nil
}

func readNumAttr(loc object, name string, kind C.int, out unsafe.Pointer) error {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	if C.fm_read_num_attr(hid(loc), cname, kind, out) < 0 {
		return h5error("read attribute " + name)
	}
	return nil
}

// readStrings reads the n strings of a string dataset or attribute, fixed- or
// variable-length, ASCII or UTF-8.
func readStrings(loc object, name string, isAttr bool, n int) ([]string, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	out := (**C.char)(C.calloc(C.size_t(max(n, 1)), C.size_t(unsafe.Sizeof(uintptr(0)))))
	if out == nil {
		return nil, errors.New("read strings: out of memory")
	}
	ptrs := unsafe.Slice(out, max(n, 1))
	defer func() {
		for _, p := range ptrs {
			C.free(unsafe.Pointer(p))
		}
		C.free(unsafe.Pointer(out))
	}()
	if C.fm_read_strs(hid(loc), cname, cbool(isAttr), C.size_t(n), out) < 0 {
		return nil, h5error("read strings " + name)
	}
	strs := make([]string, n)
	for i := range strs {
		strs[i] = C.GoString(ptrs[i])
	}
	return strs, nil
}

// readStringAttr reads a single-valued string attribute.
func readStringAttr(loc object, name string) (string, error) {
	s, err := readStrings(loc, name, true, 1)
	if err != nil {
		return "", err
	}
	return s[0], nil
}

// writeStrings writes values as variable-length UTF-8 strings: a dataset [len(values)],
// or, with isAttr, a scalar attribute (values must then hold one string).
func writeStrings(loc object, name string, isAttr bool, values []string) error {
	if len(values) == 0 || (isAttr && len(values) != 1) {
		return fmt.Errorf("write %s: internal: %d strings", name, len(values))
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	// The pointer array lives in C memory: cgo forbids passing Go memory holding pointers.
	arr := (**C.char)(C.calloc(C.size_t(len(values)), C.size_t(unsafe.Sizeof(uintptr(0)))))
	if arr == nil {
		return errors.New("write strings: out of memory")
	}
	ptrs := unsafe.Slice(arr, len(values))
	defer func() {
		for _, p := range ptrs {
			C.free(unsafe.Pointer(p))
		}
		C.free(unsafe.Pointer(arr))
	}()
	for i, v := range values {
		ptrs[i] = C.CString(v)
	}
	if C.fm_write_strs(hid(loc), cname, cbool(isAttr), cbool(isAttr), C.size_t(len(values)), arr) < 0 {
		return h5error("write " + name)
	}
	return nil
}

func writeFloatAttr(loc object, name string, v float64) error {
	cv := C.double(v)
	return writeNumAttr(loc, name, 0, unsafe.Pointer(&cv))
}

func writeIntAttr(loc object, name string, v int64) error {
	cv := C.int64_t(v)
	return writeNumAttr(loc, name, 1, unsafe.Pointer(&cv))
}

func writeNumAttr(loc object, name string, kind C.int, v unsafe.Pointer) error {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	if C.fm_write_num_attr(hid(loc), cname, kind, v) < 0 {
		return h5error("write attribute " + name)
	}
	return nil
}

// attrNames lists the attribute names of loc in name order.
func attrNames(loc object) ([]string, error) {
	n := C.fm_attr_count(hid(loc))
	if n < 0 {
		return nil, h5error("count attributes")
	}
	names := make([]string, 0, int(n))
	for i := range int(n) {
		size := C.fm_attr_name(hid(loc), C.hsize_t(i), nil, 0)
		if size < 0 {
			return nil, h5error("read attribute name")
		}
		buf := (*C.char)(C.malloc(C.size_t(size + 1)))
		got := C.fm_attr_name(hid(loc), C.hsize_t(i), buf, C.size_t(size+1))
		name := C.GoString(buf)
		C.free(unsafe.Pointer(buf))
		if got < 0 {
			return nil, h5error("read attribute name")
		}
		names = append(names, name)
	}
	return names, nil
}

// openObjects counts the identifiers open in file, the file itself included.
func openObjects(f object) int { return int(C.fm_open_objects(hid(f))) }

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

func prod(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}
