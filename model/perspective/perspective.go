package perspective

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"

	"github.com/fmcore/fmcore/model/nn"
)

// Module is the perspective module of one session. Build it with New; it holds only the
// fixed geometry (the retina grid), not the learned parameters, which the caller passes
// to Forward as graph nodes.
type Module struct {
	cfg          Config
	stimH, stimW int
	rays         [3][]float64 // the retina grid: unit ray components x, y, z, each [P]
	lum          [256]float32 // monitor luminance of each pixel value
}

// New builds the module for stimulus frames of stimH×stimW pixels.
func New(cfg Config, stimH, stimW int) (*Module, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if stimH < 2 || stimW < 2 {
		return nil, fmt.Errorf("perspective: stimulus %d×%d, want at least 2×2", stimH, stimW)
	}
	m := &Module{cfg: cfg, stimH: stimH, stimW: stimW}
	if cfg.Projection == ProjectionRectilinear {
		kx, ky := m.samplingFactors()
		m.rays = rectilinearGrid(cfg.RetinaHeight, cfg.RetinaWidth, kx, ky)
	} else {
		m.rays = angularGrid(cfg.RetinaHeight, cfg.RetinaWidth, cfg.RetinaDegrees)
	}
	m.lum = luminanceTable(cfg.MonitorPower)
	return m, nil
}

// Pixels is P, the number of retina pixels.
func (m *Module) Pixels() int { return m.cfg.RetinaHeight * m.cfg.RetinaWidth }

// OutShape returns the retinal image size (height, width).
func (m *Module) OutShape() (int, int) { return m.cfg.RetinaHeight, m.cfg.RetinaWidth }

// angularGrid returns the rays of the equidistant-azimuthal retina (MODEL.md 4.1 step 3):
// an isotropic grid with x as the major axis, eccentricity r = |(x, y)|·degrees (clipped
// to [0, π/2]), azimuth θ = atan2(y, x), ray (sin r·cos θ, sin r·sin θ, cos r). Pixels are
// row-major (y, x).
func angularGrid(h, w int, degrees float64) [3][]float64 {
	var rays [3][]float64
	for i := range rays {
		rays[i] = make([]float64, h*w)
	}
	lin := func(i, n int) float64 { // linspace(−1, 1, n)[i]
		if n == 1 {
			return -1
		}
		return -1 + 2*float64(i)/float64(n-1)
	}
	shrink := float64(w-1) / float64(w)
	for r := range h {
		y := lin(r, h) * float64(h) / float64(w) * shrink
		for c := range w {
			x := lin(c, w) * shrink
			ecc := math.Min(math.Max(math.Hypot(x, y)*degrees*math.Pi/180, 0), math.Pi/2)
			az := math.Atan2(y, x)
			p := r*w + c
			rays[0][p] = math.Sin(ecc) * math.Cos(az)
			rays[1][p] = math.Sin(ecc) * math.Sin(az)
			rays[2][p] = math.Cos(ecc)
		}
	}
	return rays
}

// rectilinearGrid returns the rays of the rectilinear retina: the ray of pixel (row r,
// column c) passes through the monitor point (u, v) = (gx/kx, gy/ky) of the monitor at its
// initial pose, where (gx, gy) = ((2c+1)/w − 1, (2r+1)/h − 1) is the pixel's own grid
// coordinate, so that Forward's sampling (which scales u, v by kx, ky) reads each retinal
// pixel at its own place on the stimulus.
func rectilinearGrid(h, w int, kx, ky float64) [3][]float64 {
	var rays [3][]float64
	for i := range rays {
		rays[i] = make([]float64, h*w)
	}
	for r := range h {
		v := (float64(2*r+1)/float64(h) - 1) / ky
		for c := range w {
			u := (float64(2*c+1)/float64(w) - 1) / kx
			n := math.Sqrt(u*u + v*v + initialDistance*initialDistance)
			p := r*w + c
			rays[0][p], rays[1][p], rays[2][p] = u/n, v/n, initialDistance/n
		}
	}
	return rays
}

// StimulusToRetina returns where the stimulus pixel (px right, py down, origin at the
// centre of the top-left pixel) appears on the retinal image at initialisation — the eye
// looking straight ahead (identity rotation), the monitor at its initial pose, no jitter —
// in the image's grid coordinates (gx right, gy down, −1 and 1 at the outer edges, as
// bilinear sampling with align_corners false reads them). ok is false when the pixel lies
// outside the retinal image. It inverts step 3–5 of Forward (MODEL.md 4.1).
func (m *Module) StimulusToRetina(px, py float64) (gx, gy float64, ok bool) {
	hIn, wIn := float64(m.stimH), float64(m.stimW)
	if m.cfg.Projection == ProjectionRectilinear { // the retina is the stimulus, resampled
		gx, gy = (2*px+1)/wIn-1, (2*py+1)/hIn-1
		return gx, gy, math.Abs(gx) < 1 && math.Abs(gy) < 1
	}
	hOut, wOut := float64(m.cfg.RetinaHeight), float64(m.cfg.RetinaWidth)
	// Sampling coordinates of the pixel, then the monitor coordinates that Forward scales to them.
	kx, ky := m.samplingFactors()
	u := ((2*px+1)/wIn - 1) / kx
	v := ((2*py+1)/hIn - 1) / ky
	// The ray from the eye to the monitor point (u, v) at distance initialDistance.
	ecc := math.Atan2(math.Hypot(u, v), initialDistance)
	az := math.Atan2(v, u)
	r := ecc / (m.cfg.RetinaDegrees * math.Pi / 180) // |(x, y)| on the retina grid
	x, y := r*math.Cos(az), r*math.Sin(az)
	// The grid's x is the sampling coordinate already; its y is scaled by (h/w)·(w−1)/w
	// where the sampling coordinate of row i is lin(i, h)·(h−1)/h.
	gx = x
	gy = y * (wOut / hOut) * (wOut / (wOut - 1)) * ((hOut - 1) / hOut)
	return gx, gy, math.Abs(gx) < 1 && math.Abs(gy) < 1
}

// Forward builds the retinal images of M frames (MODEL.md 4.1):
//
//	lum    [M, 1, H, W]  monitor luminance, (pixel/255)^power, computed by the caller (Luminance)
//	eye    [M, 2]        pupil centre x, y (standardised)
//	jitter [M, 6]        standard-normal draws for the monitor centre (3) and angles (3);
//	                     zeros in evaluation (no jitter)
//	out    [M, 1, Hr, Wr]
func (m *Module) Forward(b *nn.Builder, p *nn.Params, lum, eye, jitter *G.Node) *G.Node {
	defer b.Scope("perspective")()
	if b.Err() != nil {
		return nil
	}
	M := lum.Shape()[0]
	P := m.Pixels()
	dt := lum.Dtype()

	// Eye rotation: MLP 2 → hidden… → 3 angles.
	x := eye
	in := 2
	sizes := append(append([]int{}, m.cfg.EyeHidden...), 3)
	for i, out := range sizes {
		spec := nn.ConvSpec{Name: fmt.Sprintf("perspective.eye.%d", i), In: in, Out: out, Groups: 1, KT: 1, KH: 1, KW: 1,
			Standardized: i > 0, Gain: 1, Bias: true}
		x = b.Linear(x, b.Weight(p, spec), b.ConvBias(p, spec), in, out)
		if i < len(sizes)-1 {
			x = b.Act(x, m.cfg.Nonlinearity)
		}
		in = out
	}
	eyeR := rotation(b, x) // [M,1] × 9, R = Rz·Ry·Rx

	// Rays rotated by the eye: r'_i = Σ_j R_ij ray_j, each [M, P].
	ray := [3]*G.Node{}
	for j := range 3 {
		ray[j] = b.Fixed(dt, m.rays[j], 1, P)
	}
	var rot [3]*G.Node
	for i := range 3 {
		for j := range 3 {
			term := b.BroadcastMul(eyeR[3*i+j], ray[j], []byte{1}, []byte{0})
			if j == 0 {
				rot[i] = term
			} else {
				rot[i] = b.Add(rot[i], term)
			}
		}
	}

	// Monitor pose with training-time jitter: centre and angles [M, 3]. Without jitter
	// (JitterStd 0) the noise is zeroed, as in evaluation, so the SDs get no gradient.
	if m.cfg.JitterStd == 0 {
		jitter = b.Scale(jitter, 0)
	}
	noiseC := b.Slice(jitter, 1, 0, 3)
	noiseA := b.Slice(jitter, 1, 3, 6)
	center := b.BroadcastAdd(b.BroadcastMul(noiseC, b.Reshape(p.Get("perspective.monitor.center_std"), 1, 3), nil, []byte{0}),
		b.Reshape(p.Get("perspective.monitor.center"), 1, 3), nil, []byte{0})
	angles := b.BroadcastAdd(b.BroadcastMul(noiseA, b.Reshape(p.Get("perspective.monitor.angle_std"), 1, 3), nil, []byte{0}),
		b.Reshape(p.Get("perspective.monitor.angles"), 1, 3), nil, []byte{0})
	monR := rotation(b, angles)
	// The monitor axes X, Y, Z are the columns of its rotation matrix; c_i is [M, 1].
	var c [3]*G.Node
	for i := range 3 {
		c[i] = b.Slice(center, 1, i, i+1)
	}
	axis := func(col int) [3]*G.Node { return [3]*G.Node{monR[col], monR[3+col], monR[6+col]} }
	X, Y, Z := axis(0), axis(1), axis(2)

	// Intersection t = (Z·c)/(Z·ray), the denominator clipped below at 1e-5.
	zc := b.Add(b.Add(b.Mul(Z[0], c[0]), b.Mul(Z[1], c[1])), b.Mul(Z[2], c[2])) // [M, 1]
	var zr *G.Node
	for i := range 3 {
		term := b.BroadcastMul(Z[i], rot[i], []byte{1}, nil)
		if i == 0 {
			zr = term
		} else {
			zr = b.Add(zr, term)
		}
	}
	zr = b.ClampMin(zr, 1e-5)
	t := b.BroadcastDiv(zc, zr, []byte{1}, nil) // [M, P]

	// Monitor coordinates u = (t·ray − c)·X, v = (t·ray − c)·Y.
	var u, v *G.Node
	for i := range 3 {
		d := b.BroadcastSub(b.Mul(t, rot[i]), c[i], nil, []byte{1}) // [M, P]
		du := b.BroadcastMul(d, X[i], nil, []byte{1})
		dv := b.BroadcastMul(d, Y[i], nil, []byte{1})
		if i == 0 {
			u, v = du, dv
		} else {
			u, v = b.Add(u, du), b.Add(v, dv)
		}
	}
	kx, ky := m.samplingFactors()
	grid := b.Concat(2, b.Reshape(b.Scale(u, kx), M, P, 1), b.Reshape(b.Scale(v, ky), M, P, 1)) // [M, P, 2]
	img := b.GridSample(lum, grid, m.cfg.Periphery == PeripheryExtend)                          // [M, 1, P]

	// Retinal pixel curve: scale·(v + 1e-5)^sigmoid(logit) + offset (max_power 1).
	power := b.Sigmoid(b.Reshape(p.Get("perspective.retina_pixel.logit"), 1, 1))
	flat := b.Reshape(img, M, P)
	curved := b.Exp(b.BroadcastMul(b.Log(b.AddConst(flat, 1e-5)), power, nil, []byte{0, 1}))
	out := b.BroadcastAdd(b.BroadcastMul(curved, b.Reshape(p.Get("perspective.retina_pixel.scale"), 1, 1), nil, []byte{0, 1}),
		b.Reshape(p.Get("perspective.retina_pixel.offset"), 1, 1), nil, []byte{0, 1})
	return b.Reshape(out, M, 1, m.cfg.RetinaHeight, m.cfg.RetinaWidth)
}

// samplingFactors returns the factors that scale monitor coordinates (u, v) to the
// stimulus's sampling coordinates: the reference's mix of input- and output-size factors
// (MODEL.md 4.1 step 5), copied for parity.
func (m *Module) samplingFactors() (kx, ky float64) {
	hIn, wIn := float64(m.stimH), float64(m.stimW)
	hOut, wOut := float64(m.cfg.RetinaHeight), float64(m.cfg.RetinaWidth)
	return wIn / (wIn - 1) * (wOut - 1) / wOut, wIn / hIn * wIn / (wIn - 1) * (hOut - 1) / hOut
}

// rotation returns the entries R_ij (row-major, each [M, 1]) of R = Rz(a_z)·Ry(a_y)·Rx(a_x)
// for angles a [M, 3] = (a_x, a_y, a_z) (MODEL.md 4.1 step 2).
func rotation(b *nn.Builder, a *G.Node) [9]*G.Node {
	ang := func(i int) (cos, sin *G.Node) {
		x := b.Slice(a, 1, i, i+1)
		return b.Cos(x), b.Sin(x)
	}
	cx, sx := ang(0)
	cy, sy := ang(1)
	cz, sz := ang(2)
	mul := b.Mul
	return [9]*G.Node{
		mul(cz, cy), b.Sub(mul(mul(cz, sy), sx), mul(sz, cx)), b.Add(mul(mul(cz, sy), cx), mul(sz, sx)),
		mul(sz, cy), b.Add(mul(mul(sz, sy), sx), mul(cz, cx)), b.Sub(mul(mul(sz, sy), cx), mul(cz, sx)),
		b.Neg(sy), mul(cy, sx), mul(cy, cx),
	}
}

// Luminance converts 8-bit frames to monitor luminance (pixel/255)^power (the fixed
// StaticPower transform of MODEL.md 4.1 step 1), into dst (len(frames)). It runs outside
// the graph: it has no parameters.
func Luminance(dst []float32, frames []uint8, power float64) {
	table := luminanceTable(power)
	lookup(dst, frames, &table)
}

// Luminance is the package function with the module's monitor power, its table computed
// once.
func (m *Module) Luminance(dst []float32, frames []uint8) { lookup(dst, frames, &m.lum) }

func luminanceTable(power float64) [256]float32 {
	var table [256]float32
	for i := range table {
		table[i] = float32(math.Pow(float64(i)/255, power))
	}
	return table
}

func lookup(dst []float32, frames []uint8, table *[256]float32) {
	for i, f := range frames {
		dst[i] = table[f]
	}
}
