package mouse

import (
	"errors"
	"math"
	"math/cmplx"
	"strings"
	"testing"
)

func TestBankSpecValidate(t *testing.T) {
	tests := []struct {
		name string
		spec BankSpec
		want string // substring of the error; empty for a valid spec
	}{
		{"defaults", BankSpec{Width: 64, Height: 36}, ""},
		{"paper size", BankSpec{Width: 256, Height: 144}, ""},
		{"zero size", BankSpec{}, "frame 0×0"},
		{"tiny", BankSpec{Width: 4, Height: 36}, "at least 8×8"},
		{"negative deg", BankSpec{Width: 64, Height: 36, DegPerPixel: -1}, "deg_per_pixel"},
		{"NaN rate", BankSpec{Width: 64, Height: 36, RateHz: math.NaN()}, "rate"},
		{"one orientation", BankSpec{Width: 64, Height: 36, Orientations: 1}, "orientations"},
		{"sf too high", BankSpec{Width: 64, Height: 36, SF: []float64{0.3}}, "below 2.5 px"},
		{"sf unsorted", BankSpec{Width: 64, Height: 36, SF: []float64{0.04, 0.02}}, "not strictly increasing"},
		{"empty sf", BankSpec{Width: 64, Height: 36, SF: []float64{}}, "empty sf"},
		{"tf too high", BankSpec{Width: 64, Height: 36, TF: []float64{10}}, "quarter of the 30 Hz"},
		{"tf zero", BankSpec{Width: 64, Height: 36, TF: []float64{0}}, "tf[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrSpec) {
				t.Fatalf("Validate = %v, want an ErrSpec containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestFeaturesInput(t *testing.T) {
	b := testBank(t)
	n := b.spec.Width * b.spec.Height
	tests := []struct {
		name   string
		frames []uint8
		T      int
		want   string
	}{
		{"no frames", nil, 0, "0 frames"},
		{"short", make([]uint8, 2*n-1), 2, "want T×H×W = 2×27×48"},
		{"long", make([]uint8, 3*n), 2, "hold 3888 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Features(tc.frames, tc.T, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInput) {
				t.Fatalf("Features = %v, want an ErrInput containing %q", err, tc.want)
			}
		})
	}
}

// zAt returns the remodulated, DC-corrected complex response of scale s, orientation o
// at grid node (i, j) of frame t: what a unit centred on that node samples.
func zAt(f *Features, s, o, t, i, j int) complex128 {
	b := f.bank
	sc := &b.scales[s]
	q := t*sc.g.size() + i*sc.g.nx + j
	z := complex(float64(f.z[s*b.spec.Orientations+o][2*q]), float64(f.z[s*b.spec.Orientations+o][2*q+1]))
	kv := sc.kvec[o]
	return z*cmplxExpI(-(kv[0]*float64(j*sc.g.step)+kv[1]*float64(i*sc.g.step))) - complex(sc.dc[o]*float64(f.blur[s][q]), 0)
}

// TestFilterGain checks the filters' normalisation: a full-field grating of amplitude a
// at a filter's own SF and orientation gives |z| = a (the Gaussian sums to 2 and the
// negative-frequency term is below 1e-4), the filter one orientation step away gives
// the Gaussian tuning exp(−σ²|Δk|²/2), and a uniform frame gives z = 0 (the DC term is
// removed). Tolerance 3 %: uint8 rounding of the grating and the discrete taps. The
// frame (128×72 at 2.5°/pixel) holds the coarsest filter (±21 px) around its centre,
// so edge padding does not enter.
func TestFilterGain(t *testing.T) {
	b, err := NewBank(BankSpec{Width: 128, Height: 72, DegPerPixel: 2.5})
	if err != nil {
		t.Fatal(err)
	}
	const a = 0.4 // Michelson contrast 0.8 → amplitude 0.4 on the 0–1 scale
	for si, s := range b.scales {
		for _, o := range []int{0, 3} {
			th := OrientationDeg(o, b.spec.Orientations)
			f, err := b.Features(grating(b.spec, 1, th, s.sf, 0, 2*a), 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			i, j := s.g.ny/2, s.g.nx/2
			got := cmplx.Abs(zAt(f, si, o, 0, i, j))
			if math.Abs(got-a) > 0.03*a {
				t.Errorf("sf %g, orientation %g°: |z| = %.4f, want %.4f", s.sf, th, got, a)
			}
			dth := math.Pi / float64(b.spec.Orientations)
			dk := 2 * s.k * math.Sin(dth/2)
			want := a * math.Exp(-s.sigmaPx*s.sigmaPx*dk*dk/2)
			got = cmplx.Abs(zAt(f, si, (o+1)%b.spec.Orientations, 0, i, j))
			if math.Abs(got-want) > 0.03*a {
				t.Errorf("sf %g, orientation %g°, neighbour filter: |z| = %.4f, want %.4f", s.sf, th, got, want)
			}
		}
	}
	uniform := make([]uint8, b.spec.Width*b.spec.Height)
	for i := range uniform {
		uniform[i] = 230
	}
	f, err := b.Features(uniform, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	for si, s := range b.scales {
		for o := range b.spec.Orientations {
			for i := range s.g.ny {
				for j := range s.g.nx {
					// float32 sums of a constant 0.4 over up to 57² taps: 1e-5 is rounding.
					if z := zAt(f, si, o, 0, i, j); cmplx.Abs(z) > 1e-5 {
						t.Fatalf("uniform frame: scale %d orientation %d node (%d, %d): z = %v, want 0", si, o, i, j, z)
					}
				}
			}
		}
	}
}

// TestTemporalChannels checks the temporal filters: the cascade's gain is 1 at its
// centre frequency and at most 0.1 for the opposite direction (the ds units' direction
// selectivity), and the separable filter peaks within 5 % of the centre (the recorded
// TF of simple and complex units).
func TestTemporalChannels(t *testing.T) {
	b := testBank(t)
	for _, tc := range b.tfs {
		rate := b.spec.RateHz
		if g := cmplx.Abs(tc.response(tc.hz, rate)); math.Abs(g-1) > 1e-12 {
			t.Errorf("tf %g: gain %g at the centre, want 1", tc.hz, g)
		}
		if g := cmplx.Abs(tc.response(-tc.hz, rate)); g > 0.1 {
			t.Errorf("tf %g: gain %g for the opposite direction, want ≤ 0.1", tc.hz, g)
		}
		if math.Abs(tc.tePeakHz-tc.hz) > 0.05*tc.hz {
			t.Errorf("tf %g: separable filter peaks at %g Hz", tc.hz, tc.tePeakHz)
		}
	}
}

func TestFeatureIndex(t *testing.T) {
	b := testBank(t)
	if got, want := b.NumFeatures(), 3*8*3*7; got != want {
		t.Fatalf("NumFeatures = %d, want %d", got, want)
	}
	tests := []struct {
		k    int
		want FeatureInfo
	}{
		{0, FeatureInfo{Class: ClassSimple, SF: 0.02, Orientation: 0, Phase: 0}},
		{3, FeatureInfo{Class: ClassSimple, SF: 0.02, Orientation: 0, Phase: 270}},
		{4, FeatureInfo{Class: ClassComplex, SF: 0.02, Orientation: 0}},
		{((1*8+2)*3+1)*7 + 5, FeatureInfo{Class: ClassDS, SF: 0.04, Orientation: 45, Direction: 45, TF: 3}},
		{((2*8+7)*3+2)*7 + 6, FeatureInfo{Class: ClassDS, SF: 0.08, Orientation: 157.5, Direction: 337.5, TF: 6}},
	}
	for _, tc := range tests {
		got, err := b.Feature(tc.k)
		if err != nil {
			t.Fatal(err)
		}
		if got.Class != tc.want.Class || got.SF != tc.want.SF || got.Orientation != tc.want.Orientation {
			t.Errorf("Feature(%d) = %+v, want %+v", tc.k, got, tc.want)
		}
		if (got.Class == ClassDS) != !math.IsNaN(got.Direction) || (got.Class == ClassDS && (got.Direction != tc.want.Direction || got.TF != tc.want.TF)) {
			t.Errorf("Feature(%d) direction/TF = %g/%g, want %g/%g", tc.k, got.Direction, got.TF, tc.want.Direction, tc.want.TF)
		}
		if (got.Class == ClassSimple) != !math.IsNaN(got.Phase) || (got.Class == ClassSimple && got.Phase != tc.want.Phase) {
			t.Errorf("Feature(%d) phase = %g, want %g", tc.k, got.Phase, tc.want.Phase)
		}
	}
	if _, err := b.Feature(b.NumFeatures()); !errors.Is(err, ErrInput) {
		t.Errorf("Feature(K) = %v, want ErrInput", err)
	}
}
