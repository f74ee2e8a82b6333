package data

import (
	"context"
	"errors"
)

// TrialSource is what the training pipeline needs from one recording session: its
// header and windows of a trial's per-frame arrays. data/h5's *File satisfies it.
//
// Implementations must allow ReadWindow from one goroutine while another goroutine
// calls Recording or Path (a Loader reads on its own goroutine).
type TrialSource interface {
	// Path is where the recording lives; trial video paths are relative to its folder
	// (docs/FORMAT.md). In-memory sources may return any name.
	Path() string
	// Recording returns the session header with every trial's TrialInfo.
	Recording() Recording
	// ReadWindow reads frames [start, start+n) of trial id into dst, reusing the
	// capacity of dst's slices: responses [n,U], pupil [n], running [n], eye [n,2]. It
	// sets dst.TrialInfo with Frames = n.
	ReadWindow(dst *Trial, id string, start, n int) error
}

// FrameFormat is the fixed geometry and clock of the frames a FrameSource delivers.
type FrameFormat struct {
	Width  int     // W, pixels per row
	Height int     // H, rows per frame
	RateHz float64 // frames per second; must equal the recording's rate_hz
}

// FrameBytes returns H·W, the size of one frame in bytes.
func (f FrameFormat) FrameBytes() int { return f.Width * f.Height }

// FrameSource delivers stimulus frames as uint8 grayscale at one fixed FrameFormat.
// data/video's *Source satisfies it. Frames may be called from several goroutines.
type FrameSource interface {
	// Format returns the frame size and rate of every Frames call.
	Format() FrameFormat
	// Frames writes frames [start, start+n) of the video at videoPath into dst[:n·H·W]
	// ([n,H,W] row-major).
	Frames(ctx context.Context, videoPath string, start, n int, dst []byte) error
}

// Sentinel errors of the pipeline, for errors.Is.
var (
	// ErrNoRecordings means a dataset folder holds no recording file.
	ErrNoRecordings = errors.New("no recordings")
	// ErrNoTrials means a session has no usable trial in the tier a loader needs.
	ErrNoTrials = errors.New("no usable trials")
	// ErrUnknownMouse means a mouse selection names a mouse the dataset lacks.
	ErrUnknownMouse = errors.New("mouse not in the dataset")
	// ErrBusy means a Loader was asked for a second iteration while one is running.
	ErrBusy = errors.New("loader is already iterating")
	// ErrUnitCount: standardisation statistics (a model's) are for another number of units
	// than the session has.
	ErrUnitCount = errors.New("statistics are for another number of units")
)
