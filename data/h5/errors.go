package h5

import (
	"errors"

	"github.com/fmcore/fmcore/data"
)

// Sentinel errors: every error this package returns about a file's content is an
// *Error that wraps one of these, so callers can branch with errors.Is.
var (
	// ErrNotHDF5 means the file lacks the HDF5 signature (a text file, an .npy, a zip).
	ErrNotHDF5 = errors.New("not an HDF5 file")
	// ErrTruncated means the file is shorter than its HDF5 superblock says: an
	// interrupted copy or write.
	ErrTruncated = errors.New("truncated HDF5 file")
	// ErrCorrupt means the HDF5 library could not read a structure of the file.
	ErrCorrupt = errors.New("unreadable HDF5 file")
	// ErrFormat means the file is HDF5 but not an fmcore recording: the root attribute
	// format is missing or has another value.
	ErrFormat = errors.New("not an fmcore recording")
	// ErrVersion means the recording's format version is newer than this build reads.
	ErrVersion = errors.New("unsupported recording format version")
	// ErrSchema means a required attribute or dataset is missing or has the wrong type,
	// shape or value.
	ErrSchema = errors.New("recording does not follow the format")
	// ErrNoTrial means a trial id names no group under /trials.
	ErrNoTrial = errors.New("no such trial")
	// ErrRange means a requested frame window lies outside the trial.
	ErrRange = errors.New("frame window outside the trial")
)

// Error is one problem in one file, as an error: Error() is the problem's one-line
// "file: object: message" and Unwrap returns the sentinel (or the system error, for a
// file that cannot be opened at all).
type Error struct {
	data.Problem
	Err error
}

// Error returns the problem as one line.
func (e *Error) Error() string { return e.Problem.String() }

// Unwrap returns the sentinel or underlying error.
func (e *Error) Unwrap() error { return e.Err }
