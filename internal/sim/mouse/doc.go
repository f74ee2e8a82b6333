// Package mouse simulates the neurons and behaviour of "digital mice" with known ground
// truth: frames and behaviour in, neural responses out (MODEL.md 2, 7.1, 9.3, 10).
//
// All mice draw their units from one shared Bank of nonlinear spatiotemporal features,
// so a shared core is learnable and transfers between mice; mice differ in the
// positions of their receptive fields, their feature weights, gains, noise and
// behaviour. The pipeline of one clip:
//
//  1. Bank.Features filters every frame once, for all units of all mice, with complex
//     Gabor filters (spatial frequencies × orientations), stored demodulated on coarse
//     grids set in degrees, plus the local RMS contrast (a 20° Gaussian window) that
//     divisive normalisation divides by.
//  2. Mouse.Behavior draws a trial of running (bouts), pupil (dilating with running and
//     darkness) and gaze (fixations broken by saccades).
//  3. Mouse.Respond samples, per unit and frame, the maps at its RF centre plus the gaze
//     shift (cubic interpolation, sub-pixel), applies the unit's temporal channel (a
//     cascade of complex one-pole filters), its class nonlinearity (simple: half-wave
//     rectified linear filter; complex: quadrature energy; ds: energy of a drifting
//     filter), divisive normalisation by a low-passed pool, a power law with a soft
//     ceiling, a behaviour gain, an exponential calcium kernel, and noise: Poisson counts
//     modulated by a slow log-normal gain (mean 1, time constant 1 s).
//
// Conventions. Frames are uint8 grayscale [T, H, W] row-major. Pixel coordinates have
// their origin at the centre of the top-left pixel, x right and y down; degrees have x
// (azimuth) right and y (elevation) up, from the frame centre; directions are 0°
// rightward and 90° up (MODEL.md 10.3), and an orientation is the drift axis mod 180°.
// Per-frame outputs are [T, U] row-major float32; gaze is [T, 2] in degrees.
//
// The truth is exact by construction: a unit's RF centre is where it samples the maps,
// its preferred orientation and direction are those of its dominant feature (the
// orientation mixture is symmetric and the opposite-direction weight is below 1), its
// preferred SF is its filter's centre frequency and its TF the peak of its temporal
// filter. Each unit's gain is set so that its mean rate at rest on a built-in 10-s
// calibration clip (half natural-like motion, half broadband drifting gratings) is
// about 1; slower movies drive units less (the natural-like clips of
// internal/sim/stimulus give a median unit mean of about 0.3). Its rate saturates so
// that no stimulus drives it above RateCeiling times that mean. Its noise is set so that
// its CC_max at ReliabilityRepeats repeats is its target reliability on that clip, with
// dense counts (about 0.2 per frame at the mean rate) wherever the gain noise can supply
// the rest of the variance.
package mouse
