package kernels

import "math"

// expf returns e^x rounded to float32, about three times faster than float32(math.Exp(x)): the
// softmax of the cosine attention takes L² = 147,456 exponentials per (batch item, group), more
// time than its matrix products with math.Exp. TestExpf measures its error against math.Exp:
// below 1.5e-7 relative (about two float32 ulps) over the whole float32 range.
//
// x = k·ln2 + r with k = round(x/ln2) and |r| ≤ ln2/2, computed in float64; e^r is a degree-7
// Taylor polynomial (truncation error below 5e-9 on that interval), scaled by 2^k.
func expf(x float32) float32 {
	switch {
	case x > 88.72284: // e^x overflows float32
		return float32(math.Inf(1))
	case x < -103.97209: // e^x rounds to zero in float32
		return 0
	case x != x: // NaN
		return x
	}
	xf := float64(x)
	kf := xf * math.Log2E
	var k int
	if kf >= 0 {
		k = int(kf + 0.5)
	} else {
		k = int(kf - 0.5)
	}
	r := xf - float64(k)*math.Ln2
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040)))))))
	return float32(p * math.Float64frombits(uint64(k+1023)<<52))
}
