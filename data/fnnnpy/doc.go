// Package fnnnpy imports the reference model's per-trial .npy training data (cajal/fnn,
// MODEL.md section 11.1) into an fmcore recording of format v1 (docs/FORMAT.md) with
// lossless mp4 stimuli. docs/IMPORT.md is the user's guide.
//
// A tree holds one folder per data type with one <trial>.npy each, all on the 30 Hz
// clock of the frames:
//
//	stimuli/<t>.npy       uint8 [T, H, W, 1]  grey frames (NHWC)
//	perspectives/<t>.npy  float [T, 2]        pupil x, y
//	modulations/<t>.npy   float [T, 2]        pupil radius, treadmill velocity
//	units/<t>.npy         float [T, U]        responses, same unit order in every trial
//	training/<t>.npy      bool  ()            training (true) or validation (false)
//	samples/<t>.npy       int   ()            T
//	evaluation_data/{stimuli,perspectives,modulations,units}/<video>/<repeat>.npy
//
// and becomes one recording <mouse>-<session>.h5 (responses [T,U], pupil [T], running
// [T], eye [T,2], time first as in the source) plus videos/<hash>.mp4 frames [T,H,W].
// Evaluation trials become test trials test-<video>-<repeat> whose stimulus id is the
// video id; a training trial showing the same frames shares that id. Identical frames
// share one mp4, named by the content hash. Units are numbered 0..U-1 in column order,
// with area "unknown": the layout carries neither ids nor areas.
//
// Open checks every file's header, dtype, shape and size with data/internal/npy (and
// reads training/ and samples/) before anything is written; Import then streams one trial
// at a time through data/internal/importer, which writes with data/h5 and data/video, both
// of which publish a file only once it is complete.
package fnnnpy
