package kernels

import (
	"fmt"
	"math"
	"strings"
)

// Elementwise arithmetic with broadcasting, and elementwise functions with their derivatives:
// the work gorgonia's own elementwise ops do single-threaded, with a materialised copy of every
// broadcast operand and a fresh output per run. The perspective module's ray geometry (about a
// hundred [N·T, pixels] tensors per training window) and the readout's feature product
// ([N, C, T, U]) are made of these.

// BinaryOp is an elementwise arithmetic operation z = a ∘ b.
type BinaryOp int

// The binary operations.
const (
	Add BinaryOp = iota // a + b
	Sub                 // a − b
	Mul                 // a · b
	Div                 // a / b
)

// String names the operation.
func (op BinaryOp) String() string {
	switch op {
	case Add:
		return "add"
	case Sub:
		return "sub"
	case Mul:
		return "mul"
	case Div:
		return "div"
	}
	return fmt.Sprintf("BinaryOp(%d)", int(op))
}

// Broadcast describes the operands of an elementwise binary operation on a row-major output:
// along each axis, operand a or b either has the output's size or is repeated (stored with size
// 1 there). A scalar operand is repeated along every axis. Build it with NewBroadcast, which
// drops axes of size 1 and merges neighbouring axes whose operands repeat alike, so the loops run
// over as few and as long runs as possible; the inner loop is a vector–vector, vector–scalar or
// scalar–vector loop.
type Broadcast struct {
	Sizes      []int  // merged runs of the output
	RepA, RepB []bool // per run: the operand is repeated along it
}

// NewBroadcast returns the Broadcast of an output of the given shape whose operand a is repeated
// along axes repA and b along repB (each axis in [0, len(shape)), no repeats within a list).
func NewBroadcast(shape, repA, repB []int) (Broadcast, error) {
	ra, rb := make([]bool, len(shape)), make([]bool, len(shape))
	for _, l := range []struct {
		axes []int
		rep  []bool
	}{{repA, ra}, {repB, rb}} {
		for _, a := range l.axes {
			if a < 0 || a >= len(shape) || l.rep[a] {
				return Broadcast{}, fmt.Errorf("broadcast: axes %v of a rank-%d output: out of range or repeated: %w", l.axes, len(shape), ErrShape)
			}
			l.rep[a] = true
		}
	}
	var bc Broadcast
	for i, s := range shape {
		if s < 1 {
			return Broadcast{}, fmt.Errorf("broadcast: shape %v has a size below 1: %w", shape, ErrShape)
		}
		k := len(bc.Sizes) - 1
		switch {
		case s == 1:
			continue
		case k >= 0 && bc.RepA[k] == ra[i] && bc.RepB[k] == rb[i]:
			bc.Sizes[k] *= s
		default:
			bc.Sizes = append(bc.Sizes, s)
			bc.RepA = append(bc.RepA, ra[i])
			bc.RepB = append(bc.RepB, rb[i])
		}
	}
	return bc, nil
}

// String formats the runs for op hashes and errors: "240[a]×1536[b]" has a repeated along the
// run of 240 and b along the run of 1536.
func (bc Broadcast) String() string {
	parts := make([]string, len(bc.Sizes))
	for i, s := range bc.Sizes {
		parts[i] = fmt.Sprint(s)
		if bc.RepA[i] {
			parts[i] += "[a]"
		}
		if bc.RepB[i] {
			parts[i] += "[b]"
		}
	}
	return strings.Join(parts, "×")
}

// Lens returns the lengths of the output and of the operands a and b.
func (bc Broadcast) Lens() (out, a, b int) {
	out, a, b = 1, 1, 1
	for i, s := range bc.Sizes {
		out *= s
		if !bc.RepA[i] {
			a *= s
		}
		if !bc.RepB[i] {
			b *= s
		}
	}
	return out, a, b
}

// Validate reports whether the runs are usable.
func (bc Broadcast) Validate() error { return bc.validate("binary") }

func (bc Broadcast) validate(kernel string) error {
	if len(bc.RepA) != len(bc.Sizes) || len(bc.RepB) != len(bc.Sizes) {
		return fmt.Errorf("%s: %d runs, %d and %d repeat flags: %w", kernel, len(bc.Sizes), len(bc.RepA), len(bc.RepB), ErrShape)
	}
	return checkPositive(kernel, "Sizes", bc.Sizes...)
}

// Binary writes out = a ∘ b elementwise with the operands broadcast as bc says, over the
// workspace's workers. out may be a or b when that operand is not repeated (in place). Shapes:
// out, a, b of the lengths of bc.Lens.
func Binary[T Float](op BinaryOp, bc Broadcast, ws *Workspace, a, b, out []T) error {
	const kernel = "binary"
	if err := checkWS(kernel, ws); err != nil {
		return err
	}
	if op < Add || op > Div {
		return fmt.Errorf("%s: unknown operation %v: %w", kernel, op, ErrShape)
	}
	if err := bc.validate(kernel); err != nil {
		return err
	}
	lo, la, lb := bc.Lens()
	if err := checkLen(kernel, "out", len(out), lo); err != nil {
		return err
	}
	if err := checkLen(kernel, "a", len(a), la); err != nil {
		return err
	}
	if err := checkLen(kernel, "b", len(b), lb); err != nil {
		return err
	}
	k := len(bc.Sizes)
	if k == 0 { // every axis has size 1
		binaryRow(op, a, b, out, false, false)
		return nil
	}
	// Strides of a and b along each run (0 where repeated), row-major over the runs.
	var sa, sb [maxRuns]int
	if k > maxRuns {
		return fmt.Errorf("%s: %d runs, at most %d supported: %w", kernel, k, maxRuns, ErrShape)
	}
	stepA, stepB := 1, 1
	for i := k - 1; i >= 0; i-- {
		if !bc.RepA[i] {
			sa[i] = stepA
			stepA *= bc.Sizes[i]
		}
		if !bc.RepB[i] {
			sb[i] = stepB
			stepB *= bc.Sizes[i]
		}
	}
	n := bc.Sizes[k-1]
	repA, repB := bc.RepA[k-1], bc.RepB[k-1]
	rows := lo / n
	ws.parallelRange(rows, max(1, pointwiseChunk/n), func(_, r0, r1 int) {
		// The multi-index of row r0 over the outer runs, and the operands' offsets there.
		var idx [maxRuns]int
		offA, offB := 0, 0
		rem := r0
		for i := k - 2; i >= 0; i-- {
			idx[i] = rem % bc.Sizes[i]
			rem /= bc.Sizes[i]
			offA += idx[i] * sa[i]
			offB += idx[i] * sb[i]
		}
		for r := r0; r < r1; r++ {
			var ar, br []T
			if repA {
				ar = a[offA : offA+1]
			} else {
				ar = a[offA : offA+n]
			}
			if repB {
				br = b[offB : offB+1]
			} else {
				br = b[offB : offB+n]
			}
			binaryRow(op, ar, br, out[r*n:(r+1)*n], repA, repB)
			for i := k - 2; i >= 0; i-- { // advance the outer multi-index, last run fastest
				idx[i]++
				offA += sa[i]
				offB += sb[i]
				if idx[i] < bc.Sizes[i] {
					break
				}
				offA -= sa[i] * idx[i]
				offB -= sb[i] * idx[i]
				idx[i] = 0
			}
		}
	})
	return nil
}

// maxRuns bounds the merged runs of a Broadcast (alternating repeat patterns of a rank-8 tensor).
const maxRuns = 16

// binaryRow writes out[j] = a[j] ∘ b[j], with a (or b) a single repeated element when repA (or
// repB) is set.
func binaryRow[T Float](op BinaryOp, a, b, out []T, repA, repB bool) {
	switch {
	case !repA && !repB:
		a, b = a[:len(out)], b[:len(out)]
		switch op {
		case Add:
			for j := range out {
				out[j] = a[j] + b[j]
			}
		case Sub:
			for j := range out {
				out[j] = a[j] - b[j]
			}
		case Mul:
			for j := range out {
				out[j] = a[j] * b[j]
			}
		case Div:
			for j := range out {
				out[j] = a[j] / b[j]
			}
		}
	case repA && !repB:
		s, b := a[0], b[:len(out)]
		switch op {
		case Add:
			for j := range out {
				out[j] = s + b[j]
			}
		case Sub:
			for j := range out {
				out[j] = s - b[j]
			}
		case Mul:
			for j := range out {
				out[j] = s * b[j]
			}
		case Div:
			for j := range out {
				out[j] = s / b[j]
			}
		}
	case !repA && repB:
		a, s := a[:len(out)], b[0]
		switch op {
		case Add:
			for j := range out {
				out[j] = a[j] + s
			}
		case Sub:
			for j := range out {
				out[j] = a[j] - s
			}
		case Mul:
			for j := range out {
				out[j] = a[j] * s
			}
		case Div:
			for j := range out {
				out[j] = a[j] / s
			}
		}
	default:
		var v T
		switch op {
		case Add:
			v = a[0] + b[0]
		case Sub:
			v = a[0] - b[0]
		case Mul:
			v = a[0] * b[0]
		case Div:
			v = a[0] / b[0]
		}
		fill(out, v)
	}
}

// UnaryOp is an elementwise function y = f(x).
type UnaryOp int

// The elementwise functions. Their derivatives (UnaryBackward) are written with x or y,
// whichever is cheaper.
const (
	Neg     UnaryOp = iota // −x
	Exp                    // e^x
	Log                    // ln x
	Tanh                   // tanh x
	Sigmoid                // 1/(1 + e^−x)
	Square                 // x²
	Sqrt                   // √x
	Sin                    // sin x
	Cos                    // cos x
	Relu                   // max(x, 0); derivative 1 for x > 0, else 0
	Expm1                  // e^x − 1
)

var unaryNames = [...]string{"neg", "exp", "log", "tanh", "sigmoid", "square", "sqrt", "sin", "cos", "relu", "expm1"}

// String names the function.
func (op UnaryOp) String() string {
	if op >= 0 && int(op) < len(unaryNames) {
		return unaryNames[op]
	}
	return fmt.Sprintf("UnaryOp(%d)", int(op))
}

// Unary writes y = f(x) elementwise over the workspace's workers; y may be x. float32 uses the
// fast exponential of mathf.go for Exp, Tanh and Sigmoid (float32 rounding level), float64 the
// math package. Shapes: x, y of one length.
func Unary[T Float](op UnaryOp, ws *Workspace, x, y []T) error {
	const kernel = "unary"
	if err := checkWS(kernel, ws); err != nil {
		return err
	}
	if op < Neg || op > Expm1 {
		return fmt.Errorf("%s: unknown function %v: %w", kernel, op, ErrShape)
	}
	if err := checkLen(kernel, "y", len(y), len(x)); err != nil {
		return err
	}
	ws.parallelRange(len(x), pointwiseChunk, func(_, lo, hi int) {
		var buf [expBlock]float64
		for a := lo; a < hi; a += expBlock {
			b := min(hi, a+expBlock)
			unaryBlock(op, x[a:b], y[a:b], buf[:b-a])
		}
	})
	return nil
}

// unaryBlock is Unary on at most expBlock elements, with buf as scratch.
func unaryBlock[T Float](op UnaryOp, x, y []T, buf []float64) {
	y = y[:len(x)]
	fast := !isDouble[T]()
	switch op {
	case Neg:
		for i, v := range x {
			y[i] = -v
		}
	case Exp, Expm1:
		if fast && op == Exp {
			for i, v := range x {
				buf[i] = float64(v)
			}
			expSlice(buf)
			for i, e := range buf {
				y[i] = T(e)
			}
			return
		}
		for i, v := range x {
			if op == Exp {
				y[i] = T(math.Exp(float64(v)))
			} else {
				y[i] = T(math.Expm1(float64(v)))
			}
		}
	case Log:
		for i, v := range x {
			y[i] = T(math.Log(float64(v)))
		}
	case Tanh:
		for i, v := range x {
			buf[i] = float64(v)
		}
		tanhsOf[T](buf, buf)
		for i, t := range buf {
			y[i] = T(t)
		}
	case Sigmoid:
		sigmoids(x, buf)
		for i, s := range buf {
			y[i] = T(s)
		}
	case Square:
		for i, v := range x {
			y[i] = v * v
		}
	case Sqrt:
		for i, v := range x {
			y[i] = T(math.Sqrt(float64(v)))
		}
	case Sin:
		for i, v := range x {
			y[i] = T(math.Sin(float64(v)))
		}
	case Cos:
		for i, v := range x {
			y[i] = T(math.Cos(float64(v)))
		}
	case Relu:
		for i, v := range x {
			if v > 0 {
				y[i] = v
			} else {
				y[i] = 0
			}
		}
	}
}

// UnaryBackward writes dx = dy·f'(x), f' written with x or with y = f(x) (Tanh, Sigmoid, Exp,
// Expm1 and Sqrt read y; the others x; the unread one may be nil). dx may be dy. Shapes: all of
// one length.
func UnaryBackward[T Float](op UnaryOp, ws *Workspace, x, y, dy, dx []T) error {
	const kernel = "unary backward"
	if err := checkWS(kernel, ws); err != nil {
		return err
	}
	if op < Neg || op > Expm1 {
		return fmt.Errorf("%s: unknown function %v: %w", kernel, op, ErrShape)
	}
	src, name := x, "x"
	if UnaryUsesOutput(op) {
		src, name = y, "y"
	}
	if err := checkLen(kernel, name, len(src), len(dy)); err != nil {
		return err
	}
	if err := checkLen(kernel, "dx", len(dx), len(dy)); err != nil {
		return err
	}
	ws.parallelRange(len(dy), pointwiseChunk, func(_, lo, hi int) {
		s, d, o := src[lo:hi], dy[lo:hi], dx[lo:hi]
		switch op {
		case Neg:
			for i, g := range d {
				o[i] = -g
			}
		case Exp:
			for i, v := range s {
				o[i] = d[i] * v
			}
		case Expm1:
			for i, v := range s {
				o[i] = d[i] * (v + 1)
			}
		case Log:
			for i, v := range s {
				o[i] = d[i] / v
			}
		case Tanh:
			for i, v := range s {
				o[i] = d[i] * (1 - v*v)
			}
		case Sigmoid:
			for i, v := range s {
				o[i] = d[i] * v * (1 - v)
			}
		case Square:
			for i, v := range s {
				o[i] = d[i] * 2 * v
			}
		case Sqrt:
			for i, v := range s {
				o[i] = d[i] / (2 * v)
			}
		case Sin:
			for i, v := range s {
				o[i] = d[i] * T(math.Cos(float64(v)))
			}
		case Cos:
			for i, v := range s {
				o[i] = -d[i] * T(math.Sin(float64(v)))
			}
		case Relu:
			for i, v := range s {
				if v > 0 {
					o[i] = d[i]
				} else {
					o[i] = 0
				}
			}
		}
	})
	return nil
}

// UnaryUsesOutput reports whether UnaryBackward reads y = f(x) rather than x for op.
func UnaryUsesOutput(op UnaryOp) bool {
	switch op {
	case Exp, Expm1, Tanh, Sigmoid, Sqrt:
		return true
	}
	return false
}
