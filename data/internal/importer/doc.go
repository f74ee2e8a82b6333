// Package importer is the output side shared by the importers data/sensorium and
// data/fnnnpy: a Writer that writes one recording of format v1 (docs/FORMAT.md) through
// data/h5 and its stimuli as lossless mp4 files through data/video, one trial at a time.
//
// Videos are content-addressed: a trial's quantised frames [T,H,W] are hashed with their
// size, and the first 8 bytes of the SHA-256, in hex, name both the stimulus and the file
// videos/<hash>.mp4. Identical frames are therefore stored once, whatever their trial
// order, within a recording and across the recordings written to one output folder, and
// an import into a folder that holds them already reuses them.
//
// Nothing half-written survives a failure: the recording appears under its final name
// only when Close succeeds, and Abort (deferred by the importers) removes the recording's
// temporary file and every video this Writer encoded, so that a rerun starts cleanly.
//
// The package also formats the NotImported list of the importers' summaries. It reads no
// source files: that is each importer's own layout (and data/internal/npy).
package importer
