package sim

import "github.com/fmcore/fmcore/internal/sim/mouse"

// writeTruth stores a mouse's per-unit ground truth under /units/truth. Every field is
// documented in docs/FORMAT.md; the names carry their units.
func writeTruth(w RecordingWriter, t mouse.Truth) error {
	n := len(t.Class)
	class := make([]string, n)
	for i, c := range t.Class {
		class[i] = string(c)
	}
	if err := w.WriteUnitsExtraStrings("class", class); err != nil {
		return err
	}
	feature := make([]int64, n)
	for i, f := range t.Feature {
		feature[i] = int64(f)
	}
	if err := w.WriteUnitsExtraInts("feature", feature); err != nil {
		return err
	}
	pairs := []struct {
		name string
		v    []float32
	}{{"rf_center_px", t.RFPixel}, {"rf_center_deg", t.RFDeg}}
	for _, p := range pairs {
		if err := w.WriteUnitsExtra(p.name, p.v, n, 2); err != nil {
			return err
		}
	}
	scalars := []struct {
		name string
		v    []float32
	}{
		{"rf_sigma_px", t.SigmaPixel}, {"rf_sigma_deg", t.SigmaDeg},
		{"orientation_deg", t.Orientation}, {"direction_deg", t.Direction}, {"phase_deg", t.Phase},
		{"sf_cpd", t.SF}, {"tf_hz", t.TF},
		{"gain", t.Gain}, {"exponent", t.Exponent}, {"semi_saturation", t.SemiSaturation}, {"baseline", t.Baseline},
		{"running_gain", t.RunningGain}, {"pupil_gain", t.PupilGain},
		{"reliability", t.Reliability}, {"calcium_tau_s", t.CalciumTau}, {"count_scale", t.CountScale},
		{"saturation", t.Saturation}, {"gain_noise_sd", t.GainNoiseSD},
	}
	for _, s := range scalars {
		if err := w.WriteUnitsExtra(s.name, s.v, n); err != nil {
			return err
		}
	}
	return nil
}
