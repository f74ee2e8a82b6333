// Package importtest holds the test helpers of the importers (data/sensorium,
// data/fnnnpy) and of data/internal/npy: copies of the committed fixture folders,
// hand-written .npy files (any dtype, shape or payload, including ones numpy's own
// writers would not make), and reads of source arrays with npyio directly, independent
// of the reader under test. Import it only from _test.go files.
package importtest
