// Package h5 reads, writes and validates fmcore recordings: one HDF5 file per session
// in format v1, specified in docs/FORMAT.md. It is the only package of fmcore that links
// HDF5 (gonum.org/v1/hdf5 over libhdf5, plus a small cgo file for what that binding
// lacks; TOOLCHAIN.md §4).
//
// A file holds the session's root attributes (format, version, mouse, session,
// rate_hz), the units table /units (id [U], area [U], optional position_um [U,3]) and
// one group per trial under /trials with its attributes and four per-frame float32
// datasets: responses [T,U], pupil [T], running [T] and eye [T,2], row-major with time
// first, as in data.Trial. NaN marks a missing value (MODEL.md §11.5); ±Inf is invalid.
//
// Writing: Create starts a file under a hidden temporary name in the target folder,
// WriteTrial adds trials one at a time, WriteUnitsExtra and WriteTrialExtra add the
// simulator's ground truth, and Close syncs and renames the file into place, so a crash
// never leaves a half-written recording under the final name. Abort discards it.
//
// Reading: Open checks the whole structure once (types, shapes, U and T agreement,
// attributes) and returns a File whose Recording is the header; ReadTrial and
// ReadTrialRange read a trial or a window of its frames, and ReadTrialRangeInto does so
// into reused buffers for a training loader.
//
// Validating: Validate and Inspect report every problem (not just the first), each as a
// data.Problem naming the file, the HDF5 object and what is wrong, and Inspect also
// counts NaN per trial and dataset. Errors from Open and the reads are *Error values
// wrapping a sentinel (ErrNotHDF5, ErrTruncated, ErrCorrupt, ErrFormat, ErrVersion,
// ErrSchema, ErrNoTrial, ErrRange) for errors.Is.
//
// Readers accept what h5py writes: gzip and shuffle filters, fixed- and variable-length
// strings (ASCII or UTF-8), integer attributes of any width, and extra objects, which
// they ignore. The writer compresses with deflate only.
//
// HDF5 is built thread-safe here: a File's reads may run concurrently (the library
// serialises them). Every exported call locks its goroutine to its OS thread and
// silences HDF5's per-thread error printing, so a bad file never writes to stderr and
// its error message is read back from the thread that produced it.
package h5
