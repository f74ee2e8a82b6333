package train

import (
	"math"
	"strconv"
	"testing"
)

func TestCosineLRReleased(t *testing.T) {
	s := DefaultCosineLR()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		epoch int
		want  float64
	}{
		// MODEL.md 7.5 and 12.5 item 13, warmup cycle 0.
		{0, 0.005}, // 0.1 · 0.5/10
		{9, 0.095}, // 0.1 · 9.5/10
		{10, 0.1},  // cosine start, t = 0
		{55, 0.05}, // t = 45 = t_max/2
		{99, 0.1 * math.Pow(math.Sin(math.Pi/180), 2)}, // t = 89, t_max = 90: 0.1·(1 − cos(π/90))/2
		// Cycle 1 has no warmup (WarmupCycles 1): t = e, t_max = 100.
		{100, 0.1},
		{150, 0.05},
		{199, 0.1 * math.Pow(math.Sin(math.Pi/200), 2)}, // 0.1·(1 − cos(π/100))/2
	}
	for _, c := range cases {
		t.Run(strconv.Itoa(c.epoch), func(t *testing.T) {
			// 1e-12 relative: the closed forms above differ from the code only by rounding,
			// but near the end of a cycle 1 + cos(·) cancels (cos ≈ −1), so its absolute error
			// of ~1e-16 becomes ~1e-13 relative to a sum of ~6e-4. The code keeps the
			// reference's operation order, so it matches the reference better than this.
			if got := s.Rate(c.epoch); math.Abs(got-c.want) > 1e-12*c.want {
				t.Errorf("Rate(%d) = %.17g, want %.17g", c.epoch, got, c.want)
			}
		})
	}
	// The published value, to its shown digits.
	if got := strconv.FormatFloat(s.Rate(99), 'e', 4, 64); got != "3.0459e-05" {
		t.Errorf("Rate(99) = %s, MODEL.md 7.5 gives 3.0459e-5", got)
	}
}

func TestCosineLRShapes(t *testing.T) {
	// Two warmup cycles: cycle 1 warms up again, cycle 2 does not.
	s := CosineLR{LR: 1, CycleSize: 4, WarmupEpochs: 2, WarmupCycles: 2}
	want := []float64{
		0.25, 0.75, 1, 0.5, // cycle 0: warmup (e+0.5)/2, then cosine over t_max = 2
		0.25, 0.75, 1, 0.5, // cycle 1: the same
		1, (1 + math.Cos(math.Pi/4)) / 2, 0.5, (1 + math.Cos(3*math.Pi/4)) / 2, // cycle 2: t_max = 4
	}
	for e, w := range want {
		if got := s.Rate(e); math.Abs(got-w) > 1e-15 { // rounding only, values ≤ 1
			t.Errorf("Rate(%d) = %.17g, want %.17g", e, got, w)
		}
	}
	if c, e := s.Cycle(9); c != 2 || e != 1 {
		t.Errorf("Cycle(9) = (%d, %d), want (2, 1)", c, e)
	}
	// No warmup at all: a plain cosine from the first epoch.
	plain := CosineLR{LR: 2, CycleSize: 3}
	if got := plain.Rate(0); got != 2 {
		t.Errorf("no warmup: Rate(0) = %g, want 2", got)
	}
	if got := plain.Rate(-1); !math.IsNaN(got) {
		t.Errorf("Rate(-1) = %g, want NaN", got)
	}
}

func TestCosineLRValidate(t *testing.T) {
	cases := []struct {
		name string
		s    CosineLR
	}{
		{"zero lr", CosineLR{LR: 0, CycleSize: 10}},
		{"nan lr", CosineLR{LR: math.NaN(), CycleSize: 10}},
		{"zero cycle", CosineLR{LR: 1}},
		{"warmup fills the cycle", CosineLR{LR: 1, CycleSize: 10, WarmupEpochs: 10, WarmupCycles: 1}},
		{"warmup epochs without cycles", CosineLR{LR: 1, CycleSize: 10, WarmupEpochs: 2}},
		{"warmup cycles without epochs", CosineLR{LR: 1, CycleSize: 10, WarmupCycles: 1}},
		{"negative warmup cycles", CosineLR{LR: 1, CycleSize: 10, WarmupCycles: -1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.s.Validate(); err == nil {
				t.Errorf("Validate(%+v) = nil, want an error", c.s)
			}
			if got := c.s.Rate(0); !math.IsNaN(got) {
				t.Errorf("Rate on an invalid schedule = %g, want NaN", got)
			}
		})
	}
}
