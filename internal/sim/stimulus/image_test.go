package stimulus

import (
	"bytes"
	"testing"
)

func TestImagePresentations(t *testing.T) {
	s := DefaultSpec()
	c, err := Generate(KindImage, s, 3)
	if err != nil {
		t.Fatal(err)
	}
	on := s.frames(s.Image.OnSeconds)
	var images int
	for i, sg := range c.Segments {
		if sg.Params[ParamBlank] == 1 {
			if i == 0 || c.Segments[i-1].Params[ParamBlank] == 1 {
				t.Errorf("blank at %d does not follow an image", sg.Start)
			}
			// Blanks last 0.3–0.5 s: 9–15 frames at 30 Hz.
			if n := sg.End - sg.Start; sg.End < c.T && (n < 9 || n > 15) {
				t.Errorf("blank at %d lasts %d frames, want 9–15", sg.Start, n)
			}
			for f := sg.Start; f < sg.End; f++ {
				if m, sd := meanStd(c.Frame(f)); m != Grey || sd != 0 {
					t.Fatalf("blank frame %d is not uniform grey (mean %.1f, std %.2f)", f, m, sd)
				}
			}
			continue
		}
		if sg.Params[ParamScene] != float64(images) {
			t.Errorf("image segment %d has index %g, want %d", i, sg.Params[ParamScene], images)
		}
		images++
		if n := sg.End - sg.Start; n != on && sg.End != c.T {
			t.Errorf("image at %d is held %d frames, want %d", sg.Start, n, on)
		}
		first := c.Frame(sg.Start)
		for f := sg.Start + 1; f < sg.End; f++ {
			if !bytes.Equal(c.Frame(f), first) {
				t.Fatalf("frame %d differs from the image shown at %d", f, sg.Start)
			}
		}
		// The natural scene model gives RMS contrast 0.2–0.32; 0.08 rules out a blank or a
		// near-uniform image (the same per-frame floor as the natural-movie test).
		if m, sd := meanStd(first); sd/m < 0.08 {
			t.Errorf("image at %d has RMS contrast %.3f", sg.Start, sd/m)
		}
		if i > 1 && bytes.Equal(first, c.Frame(c.Segments[i-2].Start)) {
			t.Errorf("image at %d repeats the previous one", sg.Start)
		}
	}
	// 10 s of 0.5 s images and 0.3–0.5 s blanks: 10–13 images.
	if images < 10 || images > 13 {
		t.Errorf("%d images in 10 s, want 10–13", images)
	}
}
