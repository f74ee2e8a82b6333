// Package core is the shared foundation core (MODEL.md 4.3–4.5): the feedforward
// InputDense network of causal 3-D convolutions with dense blocks, then a recurrent
// CvT-LSTM (or Conv-LSTM) that also reads the modulation vector. Per stream and frame,
// a retinal image [N, 1, H, W] becomes a feature map [N, OutChannels, H/8, W/8] (for the
// released strides).
package core
