// Package nn holds fmcore's gorgonia building blocks: parameter specifications and
// initialisation (MODEL.md 1.4–1.6), nonlinearities with their fixed gammas, and the
// custom Ops that wrap internal/kernels. Ops are thin: they check shapes, fetch the
// backing slices and call a kernel.
package nn
