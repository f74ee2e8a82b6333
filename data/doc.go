// Package data holds fmcore's domain types: sessions, units, trials and recordings, and
// the problems a validator reports. It imports nothing but the standard library, so every
// other package can share these types without linking HDF5 or ffmpeg.
//
// Layout conventions: per-frame arrays are row-major float32 slices with time first
// ([T,U] responses, [T,2] eye position); video frames are uint8 grayscale, row-major
// [H,W] per frame (NHWC with C = 1). The single conversion to the model's channel-first
// layout happens where a batch is handed to the model.
//
// The on-disk format is specified in docs/FORMAT.md and implemented by data/h5.
package data
