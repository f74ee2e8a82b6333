// Package sensorium imports SENSORIUM 2023 mouse folders (the neuralpredictors
// "FileTree" layout, MODEL.md section 11.4) into fmcore recordings of format v1
// (docs/FORMAT.md) with lossless mp4 stimuli. docs/IMPORT.md is the user's guide.
//
// A mouse folder holds one .npy file per trial and array, all at 30 Hz:
//
//	data/videos/<i>.npy        [H, W, T]  grey levels; NaN past the trial end
//	data/responses/<i>.npy     [N, T]     deconvolved activity
//	data/behavior/<i>.npy      [2, T]     pupil dilation, running speed
//	data/pupil_center/<i>.npy  [2, T]     horizontal, vertical eye position
//	meta/neurons/unit_ids.npy                [N]
//	meta/neurons/cell_motor_coordinates.npy  [N, 3] µm
//	meta/trials/tiers.npy                    [n_trials] train, oracle, ..., none
//
// and becomes one recording <mouse>-<session>.h5 with time-first arrays (responses [T,U],
// pupil [T], running [T], eye [T,2]) plus videos/<hash>.mp4 frames [T,H,W] as uint8.
//
// Choices, each documented in docs/IMPORT.md:
//   - A trial ends before its trailing frames whose pixels are all NaN; the padding is
//     cut from every array and counted (finite values in it are counted separately).
//   - Tiers: train → train, oracle → validation, the four live/final test tiers → test,
//     with the original name in the trial label sensorium_tier; tier none is skipped.
//   - Video values become bytes with a Scaling recorded in every trial's parameters
//     video_offset and video_scale (value = offset + scale·byte). Values within 0..255
//     map one to one.
//   - Trials whose quantised frames are identical share one stimulus id and one mp4,
//     both named by the content hash, so repeats are found whatever their trial order,
//     and videos shared between mice are stored once.
//
// Open checks everything that can be checked without reading the values (every file's
// header, dtype, shape and size, with data/internal/npy), so that bad input fails before
// anything is written; Import then streams one trial at a time through
// data/internal/importer, which writes with data/h5 and data/video, both of which publish
// a file only once it is complete.
package sensorium
