package mouse

import (
	"math"
	"math/rand/v2"
	"testing"
)

// testBank returns a small bank (48×27 pixels, 2.5°/pixel, default filters) shared by the
// tests of one test function. 48×27 keeps the finest scale's period at 5 px.
func testBank(t testing.TB) *Bank {
	t.Helper()
	b, err := NewBank(BankSpec{Width: 48, Height: 27})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testMouse draws a mouse from b or fails the test.
func testMouse(t testing.TB, b *Bank, spec MouseSpec) *Mouse {
	t.Helper()
	m, err := NewMouse(b, spec)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// grating renders T frames of a full-field drifting sinusoidal grating: direction dirDeg
// (0° rightward, 90° up on the screen), sf cycles/degree, tf Hz, Michelson contrast c.
func grating(spec BankSpec, T int, dirDeg, sf, tf, c float64) []uint8 {
	w, h := spec.Width, spec.Height
	k := 2 * math.Pi * sf * spec.DegPerPixel // rad/pixel
	th := dirDeg * math.Pi / 180
	kx, ky := k*math.Cos(th), -k*math.Sin(th) // image y points down
	om := 2 * math.Pi * tf / spec.RateHz
	out := make([]uint8, T*h*w)
	for t := range T {
		for y := range h {
			for x := range w {
				// cos(k·x − ωt) moves along +k.
				v := 0.5 + 0.5*c*math.Cos(kx*float64(x)+ky*float64(y)-om*float64(t))
				out[(t*h+y)*w+x] = toPixel(float32(v))
			}
		}
	}
	return out
}

// meanRates returns each unit's mean of the [T,U] array x over frames [from, T).
func meanRates(x []float32, T, U, from int) []float64 {
	out := make([]float64, U)
	for t := from; t < T; t++ {
		for u := range U {
			out[u] += float64(x[t*U+u])
		}
	}
	for u := range out {
		out[u] /= float64(T - from)
	}
	return out
}

// respondRest returns the noise-free rate of m to frames at rest.
func respondRest(t testing.TB, m *Mouse, frames []uint8, T int) []float32 {
	t.Helper()
	f, err := m.Bank().Features(frames, T, nil)
	if err != nil {
		t.Fatal(err)
	}
	rate, _, err := m.Respond(f, m.RestBehavior(T), rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	return rate
}

// angleDiff returns |a − b| on a circle of the given period, in [0, period/2].
func angleDiff(a, b, period float64) float64 {
	d := math.Mod(math.Abs(a-b), period)
	return math.Min(d, period-d)
}
