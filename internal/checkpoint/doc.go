// Package checkpoint is fmcore's versioned on-disk weight format (STYLE.md rule 14): named
// float32 tensors with a self-describing header, split into the shared core and one file per
// session, each carrying the config and seed it came from.
//
// The package knows nothing about the model. It stores Tensor values (a name, a shape and
// row-major float32 data) under fmcore's parameter names ("core.feedforward.inputs.0.weight.1",
// "readout.mu", …: the module path, then the stream index of per-stream parameters); the model
// package turns them into its weights and uses Match to check them against what it built from
// the config. The split into one core file and one file per session follows the released
// reference weights (params_core.pt + params_<session>_<scan>.pt, MODEL.md 11.2).
//
// # Folder
//
// A checkpoint is a folder:
//
//	ckpt/
//	├── core.fmck          shared weights: every core.* tensor, plus whatever else the caller shares
//	├── config.yaml        the effective config, a copy of the headers' for people
//	└── sessions/
//	    ├── 7-1.fmck       one session: its perspective.*, modulation.* and readout.* tensors
//	    └── 7-2.fmck
//
// Save writes all of it; SaveSession adds one session's file and never touches core.fmck, which
// is how a new mouse is fitted on a frozen core. LoadCore, LoadSession and Sessions read it
// back. Optimizer state and training progress for a resume are ordinary tensors with a prefix
// ("momentum.core.…") and Metadata entries, written with WriteFile to a file of their own.
//
// # File
//
// A .fmck file is magic bytes, the format version, a CRC-32C-protected JSON header (fmcore
// version, kind, session key, config text, seed, creation time, metadata, and the tensor table
// with shapes, offsets and a CRC-32C per tensor), then the little-endian float32 data with
// every tensor 64-byte aligned. docs/FORMAT.md, section "Checkpoints", is the byte-level
// specification; this package is its reference implementation.
//
// # Trust
//
// Readers trust nothing in a file: magic, version, header length against the file size, header
// checksum, strict JSON (unknown fields are errors), unique valid names, shapes and offsets
// that tile the data section exactly, zero padding, every tensor's checksum and, unless
// Options.AllowNonFinite, finite values. Every length is bounded before memory is allocated for
// it, so a damaged or hostile file costs at most its own size (FuzzReadHeader). Writers are
// atomic: a temporary file in the same folder, fsync, rename, fsync of the folder.
//
// # Errors
//
// Every error is one line naming the operation, the file and, where one is concerned, the
// tensor, and wraps a sentinel: ErrNotCheckpoint (not a checkpoint at all), ErrVersion (written
// by a newer format: "checkpoint version 2, this binary reads up to 1: upgrade fmcore"),
// ErrCorrupt (damaged or inconsistent), ErrNonFinite (NaN or ±Inf), ErrMismatch (names or
// shapes differ from the model's) and ErrInvalid (the caller asked to write something the
// format cannot hold). The concrete type is *Error.
package checkpoint
