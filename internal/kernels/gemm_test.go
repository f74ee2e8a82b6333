package kernels

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// refGemm is C = alpha·op(A)·op(B) + beta·C in float64 with explicit strides.
func refGemm(ta, tb bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) []float64 {
	out := append([]float64(nil), c...)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				ai, bi := i*lda+p, p*ldb+j
				if ta {
					ai = p*lda + i
				}
				if tb {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				s += av * bv
			}
			out[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
		}
	}
	return out
}

func TestGemmMatchesReference(t *testing.T) {
	t.Run("float32", testGemm[float32])
	t.Run("float64", testGemm[float64])
}

func testGemm[T Float](t *testing.T) {
	const m, n, k, pad = 5, 7, 4, 3 // leading dimensions exceed the column counts by pad
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			for _, ab := range [][2]T{{1, 0}, {0.5, 2}, {-1, 1}} {
				t.Run(fmt.Sprintf("ta=%v/tb=%v/alpha=%v/beta=%v", ta, tb, ab[0], ab[1]), func(t *testing.T) {
					ra, ca := m, k
					if ta {
						ra, ca = k, m
					}
					rb, cb := k, n
					if tb {
						rb, cb = n, k
					}
					lda, ldb, ldc := ca+pad, cb+pad, n+pad
					rng := newRand(1)
					a, b, c := randSlice[T](rng, ra*lda), randSlice[T](rng, rb*ldb), randSlice[T](rng, m*ldc)
					want := refGemm(ta, tb, m, n, k, float64(ab[0]), to64(a), lda, to64(b), ldb, float64(ab[1]), to64(c), ldc)
					if err := Gemm(ta, tb, m, n, k, ab[0], a, lda, b, ldb, ab[1], c, ldc); err != nil {
						t.Fatal(err)
					}
					// Padding columns of C must be untouched: they are compared too.
					checkClose(t, "c", c, want, tol[T]())
				})
			}
		}
	}
}

func TestGemmEdgeCases(t *testing.T) {
	t.Run("k=0 scales C by beta", func(t *testing.T) {
		c := []float32{1, 2, 3, 4}
		if err := Gemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 0.5, c, 2); err != nil {
			t.Fatal(err)
		}
		checkClose(t, "c", c, []float64{0.5, 1, 1.5, 2}, 0)
	})
	t.Run("empty output", func(t *testing.T) {
		if err := Gemm(false, false, 0, 3, 2, 1, nil, 2, make([]float32, 6), 3, 0, nil, 3); err != nil {
			t.Fatal(err)
		}
	})
	for name, err := range map[string]error{
		"negative size":    Gemm[float32](false, false, -1, 2, 2, 1, nil, 2, nil, 2, 0, nil, 2),
		"short a":          Gemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2),
		"lda too small":    Gemm(false, false, 2, 2, 3, 1, make([]float32, 6), 2, make([]float32, 6), 2, 0, make([]float32, 4), 2),
		"short transposed": Gemm(false, true, 2, 3, 2, 1, make([]float32, 4), 2, make([]float32, 5), 2, 0, make([]float32, 6), 3),
		"short c":          Gemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2),
	} {
		if !errors.Is(err, ErrShape) {
			t.Errorf("%s: got %v, want an error wrapping ErrShape", name, err)
		}
	}
}

// TestBLASThreads checks that the thread setting round-trips (OpenBLAS) or reads 1 (purego).
func TestBLASThreads(t *testing.T) {
	n := BLASThreads()
	if n < 1 {
		t.Fatalf("BLASThreads() = %d, want ≥ 1", n)
	}
	SetBLASThreads(n) // leave the process setting as it was
	if got := BLASThreads(); got != n {
		t.Errorf("after SetBLASThreads(%d): BLASThreads() = %d", n, got)
	}
	t.Logf("%s BLAS, %d threads per call", BLASName, n)
}

// TestBLASThreadsDefault checks the lazy OpenBLAS default in fresh processes (the setting is
// process-wide and applied once, so each case re-runs this test binary): one thread after the
// first product; the environment's OPENBLAS_NUM_THREADS respected; SetBLASThreads before the
// first product not undone by it.
func TestBLASThreadsDefault(t *testing.T) {
	if mode := os.Getenv("KERNELS_BLAS_CHILD"); mode != "" {
		if mode == "set3" {
			SetBLASThreads(3)
		}
		c := make([]float32, 4)
		if err := Gemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, c, 2); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("threads=%d\n", BLASThreads())
		return
	}
	if BLASName != "openblas" {
		t.Skip("gonum's BLAS has no threads of its own")
	}
	for _, tc := range []struct {
		mode, env string
		want      int
	}{
		{"default", "", 1},
		{"env", "2", 2},
		{"set3", "", 3},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBLASThreadsDefault$")
			cmd.Env = append(os.Environ(), "KERNELS_BLAS_CHILD="+tc.mode)
			cmd.Env = append(cmd.Env, "OPENBLAS_NUM_THREADS="+tc.env) // empty means unset to OpenBLAS and to blasDefaults
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			if want := fmt.Sprintf("threads=%d\n", tc.want); !strings.Contains(string(out), want) {
				t.Errorf("child printed %q, want %q", out, want)
			}
		})
	}
}
