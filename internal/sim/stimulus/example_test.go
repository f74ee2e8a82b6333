package stimulus_test

import (
	"fmt"

	"github.com/fmcore/fmcore/internal/sim/stimulus"
)

func ExampleGenerate() {
	spec := stimulus.DefaultSpec()     // 64×36 pixels, 30 Hz, 10 s, 120° wide
	spec.Gabor.SigmaDeg = []float64{0} // full-field gratings
	spec.Gabor.SFCpd = []float64{0.04} // mouse V1 prefers about 0.04 cycles/degree
	clip, err := stimulus.Generate(stimulus.KindGabor, spec, 42)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("frames:", clip.T, "size:", clip.W, "x", clip.H)
	first := clip.Segments[0]
	fmt.Printf("frames [%d, %d): full field %g, %.4f cycles/pixel = %.4f cycles/degree\n",
		first.Start, first.End, first.Params[stimulus.ParamFullField],
		first.Params[stimulus.ParamSFCpp], first.Params[stimulus.ParamSFCpd])
	fmt.Println("next segment is blank:", clip.Segments[1].Params[stimulus.ParamBlank] == 1)
	// Output:
	// frames: 300 size: 64 x 36
	// frames [0, 30): full field 1, 0.0750 cycles/pixel = 0.0400 cycles/degree
	// next segment is blank: true
}
