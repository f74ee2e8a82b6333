// Package video decodes stimulus videos to grayscale frames at model resolution, encodes
// grayscale frames to lossless H.264 mp4 files, and caches decoded frames on disk.
//
// It is the only fmcore package that knows about ffmpeg (STYLE.md, package table). The
// ffmpeg and ffprobe binaries (Debian ffmpeg 5.1) must be on $PATH at run time; commands
// are built with github.com/u2takey/ffmpeg-go (TOOLCHAIN.md section 5).
//
// # Frames
//
// A frame is H·W bytes of uint8 luminance, row-major [H,W]; a clip of T frames is one
// contiguous [T,H,W] byte slice (NHWC with C = 1, data/doc.go). Values are full-range
// luma: a limited-range ("tv", 16–235) source is expanded to 0–255 by ffmpeg's gray
// conversion, and files written by Encoder are tagged full-range so that they round-trip
// bit for bit.
//
// # Time
//
// Decoding resamples in time to Params.RateHz by sample-and-hold, the rule MODEL.md section
// 7.1 states for the reference loader ("for each 30 Hz sample, the most recently displayed
// frame"): output frame i is the source frame on screen at time i/RateHz after the first
// frame. See Decoder for the exact rule and the frame count.
//
// # Space
//
// Frames are resized to exactly Params.Width × Params.Height. Shrinking is area-averaged
// (swscale's "area" method, the mean of the source pixels a target pixel covers);
// enlarging uses bicubic interpolation. The aspect ratio is not preserved.
//
// # Cache
//
// Cache stores each decoded clip as one file keyed by the video's content hash and the
// decode parameters, written atomically, with a checked header. Training reads windows of
// frames from it through Entry.ReadFrames without loading whole videos.
package video
