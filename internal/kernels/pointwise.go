package kernels

import (
	"fmt"
	"math"
)

// GELUGamma is the NF-Net gamma that follows GELU so that a standard-normal input keeps unit
// variance (MODEL.md 1.4; used verbatim, not recomputed).
const GELUGamma = 1.7015043

// pointwiseChunk is the number of elements below which an elementwise kernel stays on the
// calling goroutine, and the smallest range a worker gets.
const pointwiseChunk = 1 << 14

// GELU writes y = γ·x·Φ(x), the exact (erf) GELU times GELUGamma, with Φ(x) = (1 + erf(x/√2))/2
// evaluated by normCDFs (relative error below 3e-8, so the result is exact to float32 rounding).
// y may be x (in place). Shapes: x, y any, same length.
func GELU[T Float](ws *Workspace, x, y []T) error {
	const kernel = "gelu forward"
	if err := checkWS(kernel, ws); err != nil {
		return err
	}
	if err := checkLen(kernel, "y", len(y), len(x)); err != nil {
		return err
	}
	ws.parallelRange(len(x), pointwiseChunk, func(_, lo, hi int) {
		var cdf [expBlock]float64
		for a := lo; a < hi; a += expBlock {
			b := min(hi, a+expBlock)
			normCDFs(x[a:b], cdf[:], nil)
			for i, v := range x[a:b] {
				y[a+i] = T(GELUGamma * float64(v) * cdf[i])
			}
		}
	})
	return nil
}

// GELUBackward writes dx = dy·γ·(Φ(x) + x·φ(x)), φ the standard normal density: the gradient of
// GELU through γ. dx may be dy (in place). Shapes: x, dy, dx any, same length.
func GELUBackward[T Float](ws *Workspace, x, dy, dx []T) error {
	const kernel = "gelu backward"
	if err := checkWS(kernel, ws); err != nil {
		return err
	}
	if err := checkLen(kernel, "dy", len(dy), len(x)); err != nil {
		return err
	}
	if err := checkLen(kernel, "dx", len(dx), len(x)); err != nil {
		return err
	}
	ws.parallelRange(len(x), pointwiseChunk, func(_, lo, hi int) {
		var cdf, pdf [expBlock]float64
		for a := lo; a < hi; a += expBlock {
			b := min(hi, a+expBlock)
			normCDFs(x[a:b], cdf[:], pdf[:])
			for i, v := range x[a:b] {
				dx[a+i] = T(float64(dy[a+i]) * GELUGamma * (cdf[i] + float64(v)*pdf[i]))
			}
		}
	})
	return nil
}

// AvgPool2 describes 2×2 average pooling with stride 2 on M planes of H×W pixels, y [M, H/2,
// W/2]. For an NCTHW tensor M = N·C·T: frames are pooled one by one (MODEL.md 4.3, the pools of
// dense blocks 0 and 1). An odd last row or column is dropped, as in PyTorch (floor mode).
type AvgPool2 struct {
	M, H, W int
}

// Validate reports whether the sizes are usable.
func (a AvgPool2) Validate() error { return a.validate("avgpool2") }

// validate is Validate with the kernel name that prefixes its errors.
func (a AvgPool2) validate(kernel string) error {
	if err := checkPositive(kernel, "M, H, W", a.M, a.H, a.W); err != nil {
		return err
	}
	if a.H < 2 || a.W < 2 {
		return fmt.Errorf("%s: planes %d×%d are smaller than the 2×2 window: %w", kernel, a.H, a.W, ErrShape)
	}
	return nil
}

// check validates ws, the sizes and the two slices.
func checkAvgPool2[T Float](a AvgPool2, kernel string, ws *Workspace, in, out []T, inName, outName string) error {
	if err := checkWS(kernel, ws); err != nil {
		return err
	}
	if err := a.validate(kernel); err != nil {
		return err
	}
	if err := checkLen(kernel, inName, len(in), a.M*a.H*a.W); err != nil {
		return err
	}
	return checkLen(kernel, outName, len(out), a.M*(a.H/2)*(a.W/2))
}

// AvgPool2Forward writes y = the mean of each 2×2 window of x (overwritten).
// Shapes: x [M, H, W], y [M, H/2, W/2].
func AvgPool2Forward[T Float](a AvgPool2, ws *Workspace, x, y []T) error {
	if err := checkAvgPool2(a, "avgpool2 forward", ws, x, y, "x", "y"); err != nil {
		return err
	}
	ho, wo := a.H/2, a.W/2
	minPlanes := max(1, pointwiseChunk/(a.H*a.W))
	ws.parallelRange(a.M, minPlanes, func(_, lo, hi int) {
		for m := lo; m < hi; m++ {
			src, dst := x[m*a.H*a.W:][:a.H*a.W], y[m*ho*wo:][:ho*wo]
			for oh := 0; oh < ho; oh++ {
				r0, r1, d := src[2*oh*a.W:][:2*wo], src[(2*oh+1)*a.W:][:2*wo], dst[oh*wo:][:wo]
				for ow := range d {
					d[ow] = 0.25 * (r0[2*ow] + r0[2*ow+1] + r1[2*ow] + r1[2*ow+1])
				}
			}
		}
	})
	return nil
}

// AvgPool2Backward writes dx (overwritten): each input pixel of a window gets a quarter of its output
// gradient; a dropped odd row or column gets zero.
// Shapes: dy [M, H/2, W/2], dx [M, H, W].
func AvgPool2Backward[T Float](a AvgPool2, ws *Workspace, dy, dx []T) error {
	if err := checkAvgPool2(a, "avgpool2 backward", ws, dx, dy, "dx", "dy"); err != nil {
		return err
	}
	ho, wo := a.H/2, a.W/2
	minPlanes := max(1, pointwiseChunk/(a.H*a.W))
	ws.parallelRange(a.M, minPlanes, func(_, lo, hi int) {
		for m := lo; m < hi; m++ {
			src, dst := dy[m*ho*wo:][:ho*wo], dx[m*a.H*a.W:][:a.H*a.W]
			if a.H%2 == 1 || a.W%2 == 1 {
				clear(dst)
			}
			for oh := 0; oh < ho; oh++ {
				r0, r1, s := dst[2*oh*a.W:][:2*wo], dst[(2*oh+1)*a.W:][:2*wo], src[oh*wo:][:wo]
				for ow, v := range s {
					q := 0.25 * v
					r0[2*ow], r0[2*ow+1], r1[2*ow], r1[2*ow+1] = q, q, q, q
				}
			}
		}
	})
	return nil
}

// PoissonLoss returns the mean over the targets that are not NaN of the Poisson loss
// exp(r) − y·r (MODEL.md 4.7; the log y! term is dropped), and their count. NaN targets are
// masked out of the mean (MODEL.md 11.5). When dr is not nil it receives the gradient of that
// mean with respect to r: (exp(r) − y)/count, and 0 at NaN targets. With no valid target the
// loss is 0, the count 0 and dr all zeros. The sum is accumulated in float64.
// Shapes: r (log-rates), y (targets), dr: [N·U] (any layout, the same for all three).
func PoissonLoss[T Float](r, y, dr []T) (loss float64, count int, err error) {
	const kernel = "poisson loss"
	if err := checkLen(kernel, "targets", len(y), len(r)); err != nil {
		return 0, 0, err
	}
	if dr != nil {
		if err := checkLen(kernel, "dr", len(dr), len(r)); err != nil {
			return 0, 0, err
		}
	}
	var sum float64
	for i, t := range y {
		if t != t { // NaN
			continue
		}
		rf := float64(r[i])
		sum += math.Exp(rf) - float64(t)*rf
		count++
	}
	if count == 0 {
		clear(dr)
		return 0, 0, nil
	}
	if dr != nil {
		inv := 1 / float64(count)
		for i, t := range y {
			if t != t {
				dr[i] = 0
				continue
			}
			dr[i] = T((math.Exp(float64(r[i])) - float64(t)) * inv)
		}
	}
	return sum / float64(count), count, nil
}
