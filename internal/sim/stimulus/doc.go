// Package stimulus renders the videos that fmcore's simulated "digital mice" watch: grayscale
// uint8 clips [T, H, W] at a requested size and frame rate, deterministic from a seed.
//
// There are six kinds, matching the SENSORIUM 2023 stimulus types (PEERS.md section 1) and the
// out-of-domain stimuli of the paper (MODEL.md section 10.1):
//
//   - KindNatural: natural-like movies, the training domain. 1/f textured backgrounds seen
//     through a smoothly panning, rotating and zooming camera; textured ellipses and polygons
//     moving on their own smooth trajectories and occluding each other; slow luminance and
//     contrast drifts; scene cuts every SceneMinSeconds–SceneMaxSeconds.
//   - KindNoise: directional pink noise ("Monet"-like): orientation-filtered 1/f noise drifting
//     perpendicular to its stripes, one of 16 directions per segment.
//   - KindDots: flashing bright or dark Gaussian dots on grey.
//   - KindRDK: random-dot kinematograms with a set coherence and speed.
//   - KindGabor: drifting Gabor patches and full-field gratings with grey pauses.
//   - KindImage: static natural-like images with grey blanks between them.
//
// Generate returns a Clip: the frames plus clip-level Params (float64 values ready to be
// stored as trial attributes) and the Segments, each a frame range [Start, End) with the
// parameters shown in it under the Param* keys, so analyses (MODEL.md 10.2–10.4) can relate
// responses to stimuli. Grey blanks are segments with ParamBlank = 1.
//
// Conventions. Frames are row-major [T, H, W]; x runs right and y down the screen, and
// positions are pixel-centre coordinates. Directions follow MODEL.md 10.3: 0° is rightward
// motion, 90° upward. A grating's orientation is that of its bars, (direction + 90°) mod 180°.
// The monitor's visual angle is Spec.FieldDeg across the width (square pixels), so spatial
// frequencies and speeds are configured in cycles/degree and degrees/second and reported in
// both degree and pixel units. Blanks and backgrounds are Grey = 128.
//
// Determinism. Each kind draws from its own PCG stream of math/rand/v2 seeded by the clip seed;
// every scene, image and noise texture draws from a child generator. The same kind, Spec and
// seed give identical bytes on a given platform (float rounding could differ where the
// compiler fuses multiply-adds, as on arm64).
//
// Cost. A clip is the only large allocation ([T, H, W] bytes, reusable with GenerateInto);
// renderers keep one float32 frame and the textures of the current scene. The package does no
// I/O: encoding to mp4 and writing recordings belong to the simulator's writer.
package stimulus
