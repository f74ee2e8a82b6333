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
//
// # Training pipeline
//
// The package also turns recordings into training batches without knowing about HDF5 or
// ffmpeg: it declares the two small interfaces it consumes, TrialSource (a recording:
// data/h5's *File) and FrameSource (decoded stimulus frames: data/video's *Source).
//
//   - Prepare reads a session's trials once, one at a time: the NaN policy fills short
//     behaviour gaps by interpolation and rejects trials with long ones (MODEL.md 11.5);
//     Stats are computed from the training tier only (MODEL.md 7.1) or taken from a model.
//   - A Loader yields Batch values, N windows of T frames, as iter.Seq2[*Batch, error]:
//     random windows per epoch from an explicit per-epoch generator (MODEL.md 7.2, 7.6),
//     or a deterministic walk for evaluation. A background goroutine fills a bounded
//     number of reused buffers ahead of the consumer.
//   - ParseMice, FindSessions and SelectMice choose which recordings of a dataset folder
//     a run uses.
package data
