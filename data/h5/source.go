package h5

import (
	"fmt"

	"github.com/fmcore/fmcore/data"
)

// A *File is the data.TrialSource of the training pipeline.
var _ data.TrialSource = (*File)(nil)

// ReadWindow reads frames [start, start+n) of trial id into dst, reusing dst's buffers:
// ReadTrialRangeInto under the name data.TrialSource asks for.
func (r *File) ReadWindow(dst *data.Trial, id string, start, n int) error {
	return r.ReadTrialRangeInto(dst, id, start, n)
}

// ReadHeader opens the recording at path, checks its structure as Open does and returns
// its header, closing the file again: the header reader data.FindSessions takes.
func ReadHeader(path string) (data.Recording, error) {
	f, err := Open(path)
	if err != nil {
		return data.Recording{}, err
	}
	rec := f.Recording()
	if err := f.Close(); err != nil {
		return data.Recording{}, fmt.Errorf("read header: %w", err)
	}
	return rec, nil
}
