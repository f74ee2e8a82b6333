package stimulus

import (
	"fmt"
	"testing"
)

// BenchmarkGenerate renders a 10 s, 30 Hz clip of every kind at the SENSORIUM size (64×36)
// and the paper's model resolution (256×144), reusing one frame buffer.
func BenchmarkGenerate(b *testing.B) {
	for _, sz := range []struct{ w, h int }{{64, 36}, {256, 144}} {
		for _, k := range Kinds() {
			b.Run(fmt.Sprintf("%s/%dx%d", k, sz.w, sz.h), func(b *testing.B) {
				s := DefaultSpec()
				s.Width, s.Height = sz.w, sz.h
				buf := make([]uint8, s.Frames()*s.Width*s.Height)
				b.SetBytes(int64(len(buf)))
				var seed uint64
				for b.Loop() {
					seed++
					if _, err := GenerateInto(buf, k, s, seed); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
