package metrics_test

import (
	"fmt"

	"github.com/fmcore/fmcore/internal/metrics"
)

// Scoring a scan's oracle clips: one Add per trial, then the median CC_norm over units.
func ExampleOracle() {
	const units, frames = 2, 14
	o, err := metrics.NewOracle(units, metrics.DefaultBurnin)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Two repeats of one clip; unit 0 follows the prediction, unit 1 adds repeat noise. After
	// the burn-in 4 frames remain; noiseless unit 0 gets CC_max = sqrt(T/(T−1)) = 1.155, the
	// ddof mismatch of MODEL.md 9.3, so even a perfect prediction scores CC_norm < 1 on it.
	for rep := range 2 {
		pred := make([]float32, frames*units) // [T, U]
		resp := make([]float32, frames*units) // [T, U]
		for k := range frames {
			s := float32(k % 4)
			pred[k*units], pred[k*units+1] = s, s
			resp[k*units] = 2 * s
			resp[k*units+1] = s + float32((k+rep)%2)
		}
		if err := o.Add("clip-0", pred, resp, frames); err != nil {
			fmt.Println(err)
			return
		}
	}
	scores, err := o.Scores()
	if err != nil {
		fmt.Println(err)
		return
	}
	norm := make([]float64, len(scores))
	for u, s := range scores {
		fmt.Printf("unit %d: cc_abs %.3f cc_max %.3f cc_norm %.3f\n", u, s.CCAbs, s.CCMax, s.CCNorm)
		norm[u] = s.CCNorm
	}
	fmt.Printf("median cc_norm %.3f\n", metrics.Median(norm))
	// Output:
	// unit 0: cc_abs 1.000 cc_max 1.155 cc_norm 0.866
	// unit 1: cc_abs 1.000 cc_max 1.033 cc_norm 0.968
	// median cc_norm 0.917
}
