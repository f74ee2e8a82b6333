// Package readout is the PositionFeature readout (MODEL.md 4.6): each unit reads the
// core's feature map [N, C, h, w] at a learned Gaussian position (bounded by tanh,
// sampled once per sequence in training, at its mean in evaluation) and weights the C
// features, giving log-rates [N, U] per stream.
package readout
