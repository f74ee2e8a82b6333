package kernels

import (
	"errors"
	"math"
	"testing"
)

// refLSTM is the LSTM update of MODEL.md 4.4 step 6 in float64, indexing the group-major gate
// layout [N, G, 4, Hd/G, P] from scratch.
func refLSTM(l LSTMCell, gates, cPrev []float64) (c, h []float64) {
	hg := l.Hd / l.G
	c, h = make([]float64, l.N*l.Hd*l.P), make([]float64, l.N*l.Hd*l.P)
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	for n := 0; n < l.N; n++ {
		for ch := 0; ch < l.Hd; ch++ {
			g, j := ch/hg, ch%hg
			for p := 0; p < l.P; p++ {
				gate := func(q int) float64 { return gates[(((n*l.G+g)*4+q)*hg+j)*l.P+p] }
				s := (n*l.Hd+ch)*l.P + p
				var cp float64
				if cPrev != nil {
					cp = cPrev[s]
				}
				c[s] = sig(gate(1))*cp + sig(gate(0))*math.Tanh(gate(2))
				h[s] = sig(gate(3)) * math.Tanh(c[s])
			}
		}
	}
	return c, h
}

var lstmCases = []struct {
	name                string
	l                   LSTMCell
	noCPrev, noDC, noDH bool
}{
	{"modulation-like-P1", LSTMCell{N: 3, G: 1, Hd: 4, P: 1}, false, false, false},
	{"grouped-spatial", LSTMCell{N: 2, G: 2, Hd: 6, P: 5}, false, false, false},
	{"zero-initial-state", LSTMCell{N: 2, G: 2, Hd: 4, P: 3}, true, false, false},
	{"last-step-no-dc", LSTMCell{N: 2, G: 1, Hd: 3, P: 2}, false, true, false},
	{"c-only-gradient", LSTMCell{N: 1, G: 2, Hd: 4, P: 2}, false, false, true},
	// 17,920 elements ≥ lstmMinParallel: fanned out, blocks of 2,240 > expBlock elements.
	{"parallel-size", LSTMCell{N: 2, G: 4, Hd: 64, P: 140}, false, false, false},
}

func TestLSTMCellForwardMatchesReference(t *testing.T) {
	t.Run("float32", testLSTMCellForward[float32])
	t.Run("float64", testLSTMCellForward[float64])
}

func testLSTMCellForward[T Float](t *testing.T) {
	for ci, tc := range lstmCases {
		l := tc.l
		n := l.N * l.Hd * l.P
		rng := newRand(uint64(ci))
		// Pre-activations of spread ±3 reach the saturated parts of sigmoid and tanh.
		gates := scaled(randSlice[T](rng, 4*n), 3)
		cPrev := scaled(randSlice[T](rng, n), 2)
		if tc.noCPrev {
			cPrev = nil
		}
		wantC, wantH := refLSTM(l, to64(gates), to64(cPrev))
		for _, nw := range workspaces() {
			t.Run(tc.name+"/"+nw.name, func(t *testing.T) {
				c, h := make([]T, n), make([]T, n)
				if err := LSTMCellForward(l, nw.ws, gates, cPrev, c, h); err != nil {
					t.Fatal(err)
				}
				// Computed in float64 and rounded once: only float32 rounding remains.
				checkClose(t, "c", c, wantC, tol[T]())
				checkClose(t, "h", h, wantH, tol[T]())
			})
		}
	}
}

func TestLSTMCellBackwardMatchesFiniteDifferences(t *testing.T) {
	t.Run("float32", testLSTMCellBackward[float32])
	t.Run("float64", testLSTMCellBackward[float64])
}

func testLSTMCellBackward[T Float](t *testing.T) {
	for ci, tc := range lstmCases {
		l := tc.l
		if l.N*l.Hd*l.P > 1000 {
			continue // the forward test covers the fanned-out path; FD over 36k inputs is slow
		}
		n := l.N * l.Hd * l.P
		rng := newRand(10 + uint64(ci))
		gates, cPrev := scaled(randSlice[T](rng, 4*n), 3), scaled(randSlice[T](rng, n), 2)
		dh, dc := randSlice[T](rng, n), randSlice[T](rng, n)
		if tc.noCPrev {
			cPrev = nil
		}
		if tc.noDC {
			dc = nil
		}
		if tc.noDH {
			dh = nil
		}
		g64, c64, dh64, dc64 := to64(gates), to64(cPrev), to64(dh), to64(dc)
		loss := func() float64 {
			c, h := refLSTM(l, g64, c64)
			var s float64
			if dh64 != nil {
				s += dot64(h, dh64)
			}
			if dc64 != nil {
				s += dot64(c, dc64)
			}
			return s
		}
		wantDG := numGrad(g64, loss)
		var wantDC []float64
		if cPrev != nil {
			wantDC = numGrad(c64, loss)
		}
		t.Run(tc.name, func(t *testing.T) {
			dGates, dcPrev := make([]T, 4*n), make([]T, n)
			if err := LSTMCellBackward(l, NewWorkspace(2), gates, cPrev, dh, dc, dGates, dcPrev); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "dGates", dGates, wantDG, tol[T]())
			if wantDC != nil {
				checkClose(t, "dcPrev", dcPrev, wantDC, tol[T]())
			}
		})
	}
}

func TestLSTMCellRejectsBadInput(t *testing.T) {
	l := LSTMCell{N: 1, G: 2, Hd: 4, P: 1}
	ws := NewWorkspace(1)
	mk := func(n int) []float32 { return make([]float32, n) }
	for name, err := range map[string]error{
		"groups do not divide": LSTMCellForward(LSTMCell{N: 1, G: 3, Hd: 4, P: 1}, ws, mk(16), nil, mk(4), mk(4)),
		"short gates":          LSTMCellForward(l, ws, mk(15), nil, mk(4), mk(4)),
		"nil h":                LSTMCellForward(l, ws, mk(16), nil, mk(4), nil),
		"short cPrev":          LSTMCellForward(l, ws, mk(16), mk(3), mk(4), mk(4)),
		"short dGates":         LSTMCellBackward(l, ws, mk(16), nil, mk(4), nil, mk(12), nil),
	} {
		if !errors.Is(err, ErrShape) {
			t.Errorf("%s: got %v, want an error wrapping ErrShape", name, err)
		}
	}
}
