// Package train optimises a network on recorded sessions: the optimizer, the learning-rate
// schedule and the training loop with its evaluation passes (MODEL.md section 7).
//
// The optimizer is SgdClip (MODEL.md 7.4): SGD with per-parameter gradient scale, adaptive
// gradient clipping (Brock et al. 2021) on per-slice norms, Nesterov momentum and decoupled
// weight decay added after momentum. It works on flat float32 slices described by Param, so it
// never touches the graph engine; the loop hands it each parameter's value and gradient
// buffers. CosineLR (MODEL.md 7.5) gives the learning rate of each epoch: linear warmup, then
// a cosine decay per cycle with warm restarts.
//
// # Shapes
//
// A parameter's values are row-major over Param.Shape; clipping norms reduce the axes listed in
// Param.NormDims and keep the others, so a weight [O, I/G, T, kH, kW] with NormDims 1, 2, 3, 4
// gets one norm per output filter (MODEL.md 1.6).
//
// The package does no file I/O and no printing: momentum state leaves through SgdClip.State
// for the caller to checkpoint.
package train
