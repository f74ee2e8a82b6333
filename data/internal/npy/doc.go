// Package npy reads the .npy arrays of the importers (data/sensorium, data/fnnnpy) with
// codeberg.org/sbinet/npyio and checks each file against its header before any value is
// used: a supported dtype, no negative dimension, and exactly the bytes the shape needs.
// Bad input is an *InputError naming the file and what is wrong, never a panic: npyio's
// panics on odd inputs are recovered into errors.
//
// Values come back in file order; Array.Strides maps an index to that order for both
// numpy orders (row-major, or column-major when Fortran is set).
//
// The package is internal to data/ because its API is shaped by the two importers, whose
// exported InputError types are aliases of this package's.
package npy
