package stimulus

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestParseKind(t *testing.T) {
	for i, k := range Kinds() {
		got, err := ParseKind(string(k))
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %q, %v", k, got, err)
		}
		if k.SensoriumType() != i {
			t.Errorf("%s.SensoriumType() = %d, want %d (PEERS.md section 1 order)", k, k.SensoriumType(), i)
		}
	}
	_, err := ParseKind("grating")
	if !errors.Is(err, ErrKind) || !strings.Contains(err.Error(), `"grating"`) {
		t.Errorf("ParseKind(grating) error = %v, want ErrKind naming the input", err)
	}
}

func TestSpecValidate(t *testing.T) {
	if err := DefaultSpec().Validate(); err != nil {
		t.Fatalf("DefaultSpec().Validate() = %v", err)
	}
	cases := []struct {
		name   string
		edit   func(*Spec)
		inText string // the error must name the bad field
	}{
		{"tiny frame", func(s *Spec) { s.Width = 4 }, "frame size"},
		{"zero rate", func(s *Spec) { s.RateHz = 0 }, "rate_hz"},
		{"no frames", func(s *Spec) { s.Seconds = 0.001 }, "seconds"},
		{"huge clip", func(s *Spec) { s.Width, s.Height, s.Seconds = 4096, 4096, 1000 }, "exceeds"},
		{"field", func(s *Spec) { s.FieldDeg = 400 }, "field_deg"},
		{"scene range", func(s *Spec) { s.Natural.SceneMinSeconds = 6 }, "natural.scene_min_seconds"},
		{"objects", func(s *Spec) { s.Natural.MinObjects = 7 }, "natural.min_objects"},
		{"natural contrast", func(s *Spec) { s.Natural.ContrastMax = 2 }, "natural.contrast"},
		{"luminance", func(s *Spec) { s.Natural.LuminanceMax = 250 }, "natural.luminance"},
		{"noise directions", func(s *Spec) { s.Noise.Directions = 0 }, "noise.directions"},
		{"noise segment", func(s *Spec) { s.Noise.SegmentSeconds = -1 }, "noise.segment_seconds"},
		{"noise cutoff", func(s *Spec) { s.Noise.CutoffCpd = 0 }, "noise.cutoff_cpd"},
		{"dots radius empty", func(s *Spec) { s.Dots.RadiusDeg = nil }, "dots.radius_deg"},
		{"dots radius huge", func(s *Spec) { s.Dots.RadiusDeg = []float64{4, 1000} }, "dots.radius_deg[1]"},
		{"dots simultaneous", func(s *Spec) { s.Dots.Simultaneous = 0 }, "dots.simultaneous"},
		{"rdk coherence", func(s *Spec) { s.RDK.Coherence = 1.5 }, "rdk.coherence"},
		{"rdk density", func(s *Spec) { s.RDK.Density = 100 }, "rdk.density"},
		{"rdk dot radius", func(s *Spec) { s.RDK.DotRadiusDeg = 30 }, "rdk.dot_radius_deg"},
		{"gabor sf aliasing", func(s *Spec) { s.Gabor.SFCpd = []float64{0.04, 0.3} }, "gabor.sf_cpd[1]"},
		{"gabor tf above Nyquist", func(s *Spec) { s.Gabor.TFHz = []float64{15} }, "gabor.tf_hz[0]"},
		{"gabor sigma", func(s *Spec) { s.Gabor.SigmaDeg = []float64{-1} }, "gabor.sigma_deg[0]"},
		{"image blank", func(s *Spec) { s.Image.BlankMinSeconds = 1 }, "image.blank_min_seconds"},
		{"infinite scene", func(s *Spec) { s.Natural.SceneMaxSeconds = math.Inf(1) }, "natural.scene_max_seconds"},
		{"NaN speed", func(s *Spec) { s.RDK.SpeedDeg = math.NaN() }, "rdk.speed_deg"},
		{"NaN seconds", func(s *Spec) { s.Seconds = math.NaN() }, "seconds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := DefaultSpec()
			tc.edit(&s)
			err := s.Validate()
			if !errors.Is(err, ErrSpec) {
				t.Fatalf("Validate() = %v, want an error wrapping ErrSpec", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.inText) || strings.Contains(msg, "\n") {
				t.Errorf("error %q should be one line naming %q", msg, tc.inText)
			}
			if _, err := Generate(KindNatural, s, 1); !errors.Is(err, ErrSpec) {
				t.Errorf("Generate accepted the invalid spec: %v", err)
			}
		})
	}
}

// smallSpec is the default spec shortened to 3 s so that every kind renders in milliseconds.
func smallSpec() Spec {
	s := DefaultSpec()
	s.Seconds = 3
	return s
}

func TestDeterminism(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(string(k), func(t *testing.T) {
			s := smallSpec()
			a, err := Generate(k, s, 7)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Generate(k, s, 7)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Frames, b.Frames) {
				t.Error("same seed gave different frames")
			}
			if !reflect.DeepEqual(a.Segments, b.Segments) || !reflect.DeepEqual(a.Params, b.Params) {
				t.Error("same seed gave different parameters")
			}
			c, err := Generate(k, s, 8)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(a.Frames, c.Frames) {
				t.Error("different seeds gave identical frames")
			}
		})
	}
}

func TestClipLayout(t *testing.T) {
	sizes := []struct{ w, h int }{{64, 36}, {33, 17}, {8, 8}}
	for _, k := range Kinds() {
		for _, sz := range sizes {
			s := smallSpec()
			s.Width, s.Height, s.RateHz, s.Seconds = sz.w, sz.h, 60, 2.51
			// Keep every option valid at the smallest sizes.
			s.Dots.RadiusDeg = []float64{4}
			s.RDK.DotRadiusDeg = 1
			s.Gabor.SFCpd = []float64{0.02}
			t.Run(fmt.Sprintf("%s/%dx%d", k, sz.w, sz.h), func(t *testing.T) {
				if err := s.Validate(); err != nil {
					t.Fatal(err)
				}
				c, err := Generate(k, s, 3)
				if err != nil {
					t.Fatal(err)
				}
				wantT := 151 // round(2.51 s · 60 Hz)
				if c.T != wantT || c.H != sz.h || c.W != sz.w || len(c.Frames) != wantT*sz.h*sz.w {
					t.Fatalf("clip T, H, W = %d, %d, %d with %d bytes; want %d, %d, %d", c.T, c.H, c.W, len(c.Frames), wantT, sz.h, sz.w)
				}
				checkSegments(t, c)
				if got := c.Params[ParamSensoriumType]; got != float64(k.SensoriumType()) {
					t.Errorf("params[%s] = %g", ParamSensoriumType, got)
				}
				if got := c.Params[ParamSegments]; got != float64(len(c.Segments)) {
					t.Errorf("params[%s] = %g, have %d segments", ParamSegments, got, len(c.Segments))
				}
			})
		}
	}
}

// checkSegments asserts that the segments tile [0, T) in order: each starts where the previous
// ended, or shares the previous range exactly (simultaneous dots).
func checkSegments(t *testing.T, c *Clip) {
	t.Helper()
	prevStart, prevEnd := 0, 0
	for i, sg := range c.Segments {
		ok := sg.Start < sg.End && (sg.Start == prevEnd || (sg.Start == prevStart && sg.End == prevEnd && i > 0))
		if !ok {
			t.Fatalf("segment %d = [%d, %d) after [%d, %d): segments must tile the clip", i, sg.Start, sg.End, prevStart, prevEnd)
		}
		if len(sg.Params) == 0 {
			t.Fatalf("segment %d has no parameters", i)
		}
		prevStart, prevEnd = sg.Start, sg.End
	}
	if prevEnd != c.T {
		t.Fatalf("segments end at frame %d, clip has %d", prevEnd, c.T)
	}
}

func TestGenerateIntoReusesBuffer(t *testing.T) {
	s := smallSpec()
	want, err := Generate(KindGabor, s, 5)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]uint8, s.Frames()*s.Width*s.Height+10)
	for i := range buf {
		buf[i] = 1 // stale content must be overwritten
	}
	got, err := GenerateInto(buf, KindGabor, s, 5)
	if err != nil {
		t.Fatal(err)
	}
	if &got.Frames[0] != &buf[0] {
		t.Error("GenerateInto allocated although the buffer was large enough")
	}
	if !bytes.Equal(got.Frames, want.Frames) {
		t.Error("GenerateInto frames differ from Generate")
	}
	if _, err := GenerateInto(nil, Kind("movie"), s, 5); !errors.Is(err, ErrKind) {
		t.Errorf("unknown kind error = %v, want ErrKind", err)
	}
}
