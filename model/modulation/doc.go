// Package modulation is the MlpLstm module (MODEL.md 4.2): per frame, behaviour [N, 2]
// (pupil radius, running speed) → plain linear layer → GELU·γ → LSTM → [N, Hidden]. One
// per session and stream.
package modulation
