// Package mouse simulates the neurons and behaviour of "digital mice" with known ground
// truth: frames and behaviour in, neural responses out (MODEL.md 2, 7.1, 9.3, 10).
//
// All mice draw their units from one shared Bank of nonlinear spatiotemporal features,
// so a shared core is learnable and transfers between mice; mice differ in receptive-
// field positions, feature weights, gains, noise and behaviour. The pipeline per clip:
//
//  1. Bank.Features filters every frame once, for all units of all mice, with a bank of
//     complex Gabor filters (scales × orientations), stored demodulated on coarse grids
//     set in degrees, plus a divisive-normalisation pool of local contrast energy.
//  2. Mouse.Behavior draws a trial of running (bouts), pupil (dilating with running and
//     darkness) and gaze (fixations and saccades).
//  3. Mouse.Respond samples, for each unit and frame, the maps at its RF centre plus the
//     eye shift (bilinear, sub-pixel exact), applies the unit's temporal channel (a
//     cascade of complex one-pole filters), its class nonlinearity (simple: half-wave
//     rectified linear filter; complex: quadrature energy; ds: energy of a drifting
//     filter), divisive normalisation with a low-passed pool, a power law, a behaviour
//     gain, a calcium kernel and Poisson noise.
//
// Conventions. Frames are uint8 grayscale [T, H, W] row-major. Pixel coordinates have
// their origin at the centre of the top-left pixel, x right and y down; degrees have x
// (azimuth) right and y (elevation) up, from the frame centre; directions are 0°
// rightward and 90° up (MODEL.md 10.3), and an orientation is the drift axis mod 180°.
// Per-frame outputs are [T, U] row-major float32; eye position is [T, 2].
//
// The truth is exact by construction: a unit's RF centre is where it samples the maps,
// its preferred orientation and direction are those of its dominant feature (the
// orientation mixture is symmetric, the opposite-direction weight is below 1), its
// preferred SF is the filter's centre frequency and its TF the peak of its temporal
// filter. Rates are scaled so that the mean response on natural-like stimuli at rest is
// about 1, and noise so that the median CC_max at ReliabilityRepeats repeats is the
// configured reliability; see NewMouse.
package mouse
