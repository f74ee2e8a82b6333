package h5

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"gonum.org/v1/hdf5"

	"github.com/fmcore/fmcore/data"
)

// Prediction is a model's predicted responses to one video.
type Prediction struct {
	Responses []float32 // [T,U] predicted responses, in the recording's units
	Units     data.Units
	RateHz    float64
	// Attrs are string attributes of the root group (model, mouse, session, video, …).
	Attrs map[string]string
}

// WritePrediction writes p to path as HDF5: /responses float32 [T,U], /units/id,
// /units/area, and root attributes rate_hz and Attrs; through a temporary file renamed
// into place.
func WritePrediction(path string, p Prediction) error {
	U := p.Units.Len()
	if U == 0 || len(p.Responses) == 0 || len(p.Responses)%U != 0 {
		return fmt.Errorf("write prediction %s: %d values for %d units", path, len(p.Responses), U)
	}
	T := len(p.Responses) / U
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write prediction %s: %w", path, err)
	}
	name := tmp.Name()
	if err := errors.Join(tmp.Close(), os.Chmod(name, 0o644)); err != nil {
		os.Remove(name)
		return fmt.Errorf("write prediction %s: %w", path, err)
	}
	err = func() error {
		defer pin()()
		f, err := hdf5.CreateFile(name, hdf5.F_ACC_TRUNC)
		if err != nil {
			return h5error("create HDF5 file")
		}
		root, err := f.OpenGroup("/")
		if err != nil {
			f.Close()
			return h5error("open root group")
		}
		errs := []error{writeFloatAttr(root, "rate_hz", p.RateHz)}
		for _, k := range slices.Sorted(maps.Keys(p.Attrs)) {
			errs = append(errs, writeStrings(root, k, true, []string{p.Attrs[k]}))
		}
		errs = append(errs, writeFloat32(root, "responses", p.Responses, []int{T, U}))
		units, err := f.CreateGroup("units")
		if err != nil {
			errs = append(errs, h5error("create /units"))
		} else {
			errs = append(errs, writeInt64(units, "id", p.Units.ID, []int{U}), writeStrings(units, "area", false, p.Units.Area))
			units.Close()
		}
		root.Close()
		errs = append(errs, f.Close())
		return errors.Join(errs...)
	}()
	if err == nil {
		err = syncFile(name)
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("write prediction %s: %w", path, err)
	}
	return nil
}
