// Package model is fmcore's network: the foundation model of Wang et al. 2025 (MODEL.md).
// One frame at a time, a stimulus [N, 1, H, W], a perspective vector [N, 2] (eye
// position) and a modulation vector [N, 2] (pupil radius, running speed) become one
// response frame [N, U]:
//
//	stimulus ─ perspective ─ core.feedforward ─ core.recurrent ─ readout ─ exp
//	                 eye ┘       modulation ───────────┘
//
// Figure-to-package map: model/perspective (eye → retinal image), model/modulation
// (behaviour → modulation vector), model/core (shared feedforward and recurrent core),
// model/readout (per-unit position and features), model/nn (gorgonia building blocks over
// internal/kernels).
//
// Shape letters: N batch, T frames, S streams, C channels, H height, W width, U units.
// Per-frame tensors are channel-first [N, C, H, W]. Parameter names and layouts follow
// docs/PARAMS.md: the shared core is every "core.*" tensor; each session owns its
// "perspective.*", "modulation.*" and "readout.*" tensors.
package model
