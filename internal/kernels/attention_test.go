package kernels

import (
	"errors"
	"math"
	"testing"
)

// refAttention is MODEL.md 4.4 step 5 in float64 with plain loops; a zero vector has a zero
// unit vector, the documented guard.
func refAttention(a Attention, q, k, v, scales []float64) []float64 {
	C, L := a.C, a.L
	out := make([]float64, len(q))
	unit := func(x []float64, l int) []float64 {
		var ss float64
		for c := 0; c < C; c++ {
			ss += x[c*L+l] * x[c*L+l]
		}
		u := make([]float64, C)
		if ss > 0 {
			for c := range u {
				u[c] = x[c*L+l] / math.Sqrt(ss)
			}
		}
		return u
	}
	for ng := 0; ng < a.N*a.G; ng++ {
		g := ng % a.G
		qb, kb, vb := q[ng*C*L:], k[ng*C*L:], v[ng*C*L:]
		for i := 0; i < L; i++ {
			qu := unit(qb, i)
			logits := make([]float64, L)
			m := math.Inf(-1)
			for d := 0; d < L; d++ {
				ku := unit(kb, d)
				for c := 0; c < C; c++ {
					logits[d] += qu[c] * scales[g*C+c] * ku[c]
				}
				m = math.Max(m, logits[d])
			}
			var z float64
			for d := range logits {
				logits[d] = math.Exp(logits[d] - m)
				z += logits[d]
			}
			for c := 0; c < C; c++ {
				var s float64
				for d := 0; d < L; d++ {
					s += vb[c*L+d] * logits[d] / z
				}
				out[ng*C*L+c*L+i] = s
			}
		}
	}
	return out
}

var attnCases = []struct {
	name string
	a    Attention
}{
	{"tiny", Attention{N: 2, G: 2, C: 3, L: 5}},
	{"one-group", Attention{N: 1, G: 1, C: 4, L: 7}},
	{"model-channels", Attention{N: 2, G: 3, C: 64, L: 48}},
}

// attnInputs returns q, k, v and scales; scales are spread around the init value 1 and q, k
// around ±1 so that the softmax is far from uniform.
func attnInputs[T Float](a Attention, seed uint64) (q, k, v, s []T) {
	rng := newRand(seed)
	n := a.N * a.G * a.C * a.L
	s = randSlice[T](rng, a.G*a.C)
	for i := range s {
		s[i] = 1 + 2*s[i]
	}
	return randSlice[T](rng, n), randSlice[T](rng, n), randSlice[T](rng, n), s
}

func TestAttentionForwardMatchesReference(t *testing.T) {
	t.Run("float32", testAttentionForward[float32])
	t.Run("float64", testAttentionForward[float64])
}

func testAttentionForward[T Float](t *testing.T) {
	for ci, tc := range attnCases {
		q, k, v, s := attnInputs[T](tc.a, uint64(ci))
		want := refAttention(tc.a, to64(q), to64(k), to64(v), to64(s))
		for _, nw := range workspaces() {
			t.Run(tc.name+"/"+nw.name, func(t *testing.T) {
				out := make([]T, len(q))
				if err := AttentionForward(tc.a, nw.ws, q, k, v, s, out); err != nil {
					t.Fatal(err)
				}
				// Sums of C and L float32 products plus expf's 1.5e-7: rounding only.
				checkClose(t, "out", out, want, tol[T]())
			})
		}
	}
}

func TestAttentionBackwardMatchesFiniteDifferences(t *testing.T) {
	t.Run("float32", testAttentionBackward[float32])
	t.Run("float64", testAttentionBackward[float64])
}

func testAttentionBackward[T Float](t *testing.T) {
	for ci, tc := range attnCases {
		a := tc.a
		if a.C*a.L > 100 {
			continue // the forward test covers model channel counts; FD there takes minutes
		}
		q, k, v, s := attnInputs[T](a, 10+uint64(ci))
		dout := randSlice[T](newRand(20+uint64(ci)), len(q))
		q64, k64, v64, s64, d64 := to64(q), to64(k), to64(v), to64(s), to64(dout)
		loss := func() float64 { return dot64(refAttention(a, q64, k64, v64, s64), d64) }
		wq, wk, wv, wsc := numGrad(q64, loss), numGrad(k64, loss), numGrad(v64, loss), numGrad(s64, loss)
		for _, nw := range workspaces() {
			t.Run(tc.name+"/"+nw.name, func(t *testing.T) {
				dq, dk, dv, ds := make([]T, len(q)), make([]T, len(q)), make([]T, len(q)), make([]T, len(s))
				if err := AttentionBackward(a, nw.ws, q, k, v, s, dout, dq, dk, dv, ds); err != nil {
					t.Fatal(err)
				}
				checkClose(t, "dq", dq, wq, tol[T]())
				checkClose(t, "dk", dk, wk, tol[T]())
				checkClose(t, "dv", dv, wv, tol[T]())
				checkClose(t, "dscales", ds, wsc, tol[T]())
			})
		}
	}
}

// TestAttentionZeroVectors checks the zero-norm guard: a zero query token attends uniformly, a
// zero key token has logit 0, nothing is NaN, and the zero tokens get no q or k gradient.
func TestAttentionZeroVectors(t *testing.T) {
	a := Attention{N: 1, G: 1, C: 3, L: 4}
	q, k, v, s := attnInputs[float32](a, 30)
	for c := 0; c < a.C; c++ {
		q[c*a.L+1] = 0 // query token 1
		k[c*a.L+2] = 0 // key token 2
	}
	ws := NewWorkspace(1)
	out := make([]float32, len(q))
	if err := AttentionForward(a, ws, q, k, v, s, out); err != nil {
		t.Fatal(err)
	}
	checkClose(t, "out", out, refAttention(a, to64(q), to64(k), to64(v), to64(s)), tol32)
	for c := 0; c < a.C; c++ { // uniform attention: the mean of v's row
		var mean float32
		for d := 0; d < a.L; d++ {
			mean += v[c*a.L+d] / float32(a.L)
		}
		if got := out[c*a.L+1]; math.Abs(float64(got-mean)) > 1e-6 {
			t.Errorf("zero query, channel %d: got %v, want the mean %v", c, got, mean)
		}
	}
	dq, dk, dv, ds := make([]float32, len(q)), make([]float32, len(q)), make([]float32, len(q)), make([]float32, len(s))
	if err := AttentionBackward(a, ws, q, k, v, s, randSlice[float32](newRand(31), len(q)), dq, dk, dv, ds); err != nil {
		t.Fatal(err)
	}
	for _, x := range [][]float32{dq, dk, dv, ds} {
		for _, y := range x {
			if math.IsNaN(float64(y)) || math.IsInf(float64(y), 0) {
				t.Fatalf("non-finite gradient: dq %v dk %v dv %v ds %v", dq, dk, dv, ds)
			}
		}
	}
	for c := 0; c < a.C; c++ {
		if dq[c*a.L+1] != 0 || dk[c*a.L+2] != 0 {
			t.Errorf("channel %d: zero tokens got gradient dq %v, dk %v", c, dq[c*a.L+1], dk[c*a.L+2])
		}
	}
}

func TestAttentionRejectsBadInput(t *testing.T) {
	a := Attention{N: 1, G: 2, C: 2, L: 3}
	ws := NewWorkspace(1)
	mk := func(n int) []float32 { return make([]float32, n) }
	for name, err := range map[string]error{
		"short q":       AttentionForward(a, ws, mk(11), mk(12), mk(12), mk(4), mk(12)),
		"short scales":  AttentionForward(a, ws, mk(12), mk(12), mk(12), mk(3), mk(12)),
		"short dscales": AttentionBackward(a, ws, mk(12), mk(12), mk(12), mk(4), mk(12), mk(12), mk(12), mk(12), mk(2)),
		"zero tokens":   AttentionForward(Attention{N: 1, G: 1, C: 2}, ws, nil, nil, nil, mk(2), nil),
	} {
		if !errors.Is(err, ErrShape) {
			t.Errorf("%s: got %v, want an error wrapping ErrShape", name, err)
		}
	}
}
