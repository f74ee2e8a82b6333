package kernels

import (
	"fmt"
	"unsafe"

	"gonum.org/v1/gonum/blas"
)

// Gemm computes the row-major matrix product C = alpha·op(A)·op(B) + beta·C, where op(X) is X
// or Xᵀ as transA and transB say, op(A) is m×k, op(B) is k×n and C is m×n. lda, ldb and ldc
// are the row strides of A, B and C as stored (A is m×k when not transposed, k×m when
// transposed). With beta = 0, C is overwritten and need not be initialised.
//
// The product is BLAS sgemm for float32 and dgemm for float64: OpenBLAS in the default build,
// gonum's pure-Go BLAS under the purego build tag. Gemm checks every size and slice length and
// returns an error wrapping ErrShape where the BLAS would panic.
func Gemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) error {
	const kernel = "gemm"
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("%s: negative size m, n, k = %d, %d, %d: %w", kernel, m, n, k, ErrShape)
	}
	rowA, colA := m, k
	if transA {
		rowA, colA = k, m
	}
	rowB, colB := k, n
	if transB {
		rowB, colB = n, k
	}
	if err := checkMatrix(kernel, "a", a, rowA, colA, lda); err != nil {
		return err
	}
	if err := checkMatrix(kernel, "b", b, rowB, colB, ldb); err != nil {
		return err
	}
	if err := checkMatrix(kernel, "c", c, m, n, ldc); err != nil {
		return err
	}
	if m == 0 || n == 0 {
		return nil
	}
	gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	return nil
}

// checkMatrix checks that x can hold a rows×cols row-major matrix with row stride ld.
func checkMatrix[T Float](kernel, name string, x []T, rows, cols, ld int) error {
	if ld < max(1, cols) {
		return fmt.Errorf("%s: leading dimension of %s is %d, want ≥ %d (its column count): %w", kernel, name, ld, max(1, cols), ErrShape)
	}
	if rows > 0 && cols > 0 && len(x) < (rows-1)*ld+cols {
		return fmt.Errorf("%s: %s has %d elements, a %d×%d matrix with stride %d needs %d: %w", kernel, name, len(x), rows, cols, ld, (rows-1)*ld+cols, ErrShape)
	}
	return nil
}

// gemm is the unchecked product behind Gemm, used by the other kernels, which derive every
// argument from sizes they have already validated. It is the one place that calls the BLAS.
func gemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		// Only the beta scaling is left; doing it here means empty operands need no valid layout.
		scaleMatrix(beta, c, m, n, ldc)
		return
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	blasDefaults()
	if isDouble[T]() {
		blasImpl{}.Dgemm(ta, tb, m, n, k, float64(alpha), asFloats[float64](a), lda, asFloats[float64](b), ldb, float64(beta), asFloats[float64](c), ldc)
		return
	}
	blasImpl{}.Sgemm(ta, tb, m, n, k, float32(alpha), asFloats[float32](a), lda, asFloats[float32](b), ldb, float32(beta), asFloats[float32](c), ldc)
}

// asFloats reinterprets x as a slice of its underlying float type F, which the caller has
// checked has T's size (the constraint leaves float32 or float64 as the only candidates).
// It lets a T with underlying type float32 reach the BLAS without a copy.
func asFloats[F, T Float](x []T) []F {
	if len(x) == 0 {
		return nil
	}
	return unsafe.Slice((*F)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
}

// scaleMatrix multiplies the m×n matrix c (row stride ldc) by beta; beta = 0 writes zeros.
func scaleMatrix[T Float](beta T, c []T, m, n, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}
