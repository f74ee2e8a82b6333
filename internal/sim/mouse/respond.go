package mouse

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"runtime"
	"sync"
)

// normTau is the time constant of the normalisation pool's low-pass, seconds: contrast
// adaptation that makes onsets transient (Heeger 1992, Carandini & Heeger 2012).
const normTau = 0.1

// Respond computes the mouse's responses to a clip: the shared features of its frames
// and one trial of gap-free behaviour. It returns two [T, U] row-major arrays:
//
//   - rate, the noise-free response: the expected value of observed, i.e. the unit's
//     rate after the behaviour gain, passed through its calcium kernel. It is what an
//     ideal predictor would output, so CC_max and CC_norm against it are meaningful.
//   - observed, one noisy trial: Poisson counts of κ·rate per frame (before the calcium
//     kernel), passed through the same kernel and divided by κ. It is non-negative.
//
// The rate is in units of the unit's calibrated mean (see NewMouse). Every temporal
// filter starts in the steady state of the clip's first frame, as if that frame had been
// shown forever, so the first second is a settling transient (MODEL.md 9.1 drops 10
// frames). Gaze is handled in retinal coordinates: each frame the unit samples the maps
// at its RF centre plus the gaze shift, so a saccade changes the input of its temporal
// filters as a real one would. rng draws only the noise; the work is spread over
// GOMAXPROCS goroutines and the result does not depend on their number.
func (m *Mouse) Respond(feat *Features, beh Behavior, rng *rand.Rand) (rate, observed []float32, err error) {
	if feat == nil || feat.bank != m.bank {
		return nil, nil, fmt.Errorf("mouse %s respond: features from another bank: %w", m.spec.ID, ErrInput)
	}
	T := feat.t
	if err := beh.check(T); err != nil {
		return nil, nil, fmt.Errorf("mouse %s respond: %w", m.spec.ID, err)
	}
	U := len(m.units)
	rate = make([]float32, T*U)
	observed = make([]float32, T*U)
	seed := rng.Uint64()
	in := m.newInputs(feat, beh)
	m.forUnits(feat, in, func(idx []int, buf []float64) {
		pcg := rand.NewPCG(0, 0)
		noise := rand.New(pcg)
		for k, i := range idx {
			u := &m.units[i]
			pcg.Seed(seed, uint64(i))
			a := u.aCa
			var truth, obs float64
			for t := range T {
				r := in.gain(u, t) * (u.gain*buf[t*len(idx)+k] + u.base)
				n := poisson(noise, u.kappa*r) / u.kappa
				if t == 0 {
					truth, obs = r, r
				}
				truth = a*truth + (1-a)*r
				obs = a*obs + (1-a)*n
				rate[t*U+i] = float32(truth)
				observed[t*U+i] = float32(obs)
			}
		}
	})
	return rate, observed, nil
}

// inputs are the per-frame quantities shared by all units of one Respond call.
type inputs struct {
	ex, ey []float64    // [T] eye shift in pixels (image axes)
	eyePh  []complex128 // [T, scales, orientations] exp(−i·k·shift)
	run    []float64    // [T] running drive v/(v+runHalf)
	pupil  []float64    // [T] tanh((pupil − rest)/scale)
	nS, nO int
}

// newInputs prepares the shared per-frame inputs of one call.
func (m *Mouse) newInputs(feat *Features, beh Behavior) *inputs {
	b := m.bank
	T := feat.t
	in := &inputs{
		ex: make([]float64, T), ey: make([]float64, T),
		run: make([]float64, T), pupil: make([]float64, T),
		nS: len(b.scales), nO: b.spec.Orientations,
	}
	in.eyePh = make([]complex128, T*in.nS*in.nO)
	for t := range T {
		in.ex[t] = float64(beh.Eye[2*t]) / b.spec.DegPerPixel
		in.ey[t] = -float64(beh.Eye[2*t+1]) / b.spec.DegPerPixel
		for s := range b.scales {
			for o, kv := range b.scales[s].kvec {
				in.eyePh[(t*in.nS+s)*in.nO+o] = cmplxExpI(-(kv[0]*in.ex[t] + kv[1]*in.ey[t]))
			}
		}
		v := math.Max(0, float64(beh.Running[t]))
		in.run[t] = v / (v + runHalf)
		in.pupil[t] = math.Tanh((float64(beh.Pupil[t]) - m.beh.pupilRest) / pupilScale)
	}
	return in
}

// gain returns unit u's behaviour gain at frame t.
func (in *inputs) gain(u *unit, t int) float64 {
	return math.Exp(u.betaRun*in.run[t] + u.betaPupil*in.pupil[t])
}

// forUnits splits the units (in m.order, sorted by scale and RF position so that units
// stepped one after the other read nearby map nodes) into GOMAXPROCS blocks, computes
// each block's series time-major (all its units at frame t, then t+1: the maps of one
// frame stay in cache) and hands fn the unit indices and the [T, len(idx)] series.
func (m *Mouse) forUnits(feat *Features, in *inputs, fn func(idx []int, buf []float64)) {
	U, T := len(m.units), feat.t
	workers := max(1, min(runtime.GOMAXPROCS(0), U))
	var wg sync.WaitGroup
	for w := range workers {
		idx := m.order[w*U/workers : (w+1)*U/workers]
		wg.Go(func() {
			buf := make([]float64, T*len(idx))
			st := make([]state, len(idx))
			for t := range T {
				row := buf[t*len(idx) : (t+1)*len(idx)]
				for k, i := range idx {
					row[k] = m.step(&m.units[i], &st[k], feat, in, t)
				}
			}
			fn(idx, buf)
		})
	}
	wg.Wait()
}

// state is a unit's filter state between frames.
type state struct {
	A, Ab [3][tfStages]complex128 // cascades with poles a·e^{iΩ} and a·e^{−iΩ}, per channel
	pool  float64                 // low-passed normalisation pool energy
}

// step advances unit u by frame t and returns its normalised drive raised to its
// exponent, (drive/(c50+pool))^p: the response before gain, baseline, behaviour and
// calcium. At t = 0 it first sets the state to the steady state of frame 0.
func (m *Mouse) step(u *unit, st *state, feat *Features, in *inputs, t int) float64 {
	b := m.bank
	s := &b.scales[u.scale]
	g := s.g
	nOri := b.spec.Orientations
	tc := &b.tfs[u.tf]
	p, pc := tc.pole, cmplx.Conj(tc.pole)
	gin := complex(1-tc.a, 0)
	x, y := u.x+in.ex[t], u.y+in.ey[t]

	var cu cubic
	cu.locate(g, x, y, t*g.size())
	bl := cu.real(feat.blur[u.scale])
	eyePh := in.eyePh[(t*in.nS+u.scale)*in.nO : (t*in.nS+u.scale+1)*in.nO]
	for c := range 3 {
		o := u.ori[c]
		z := cu.complex(feat.z[u.scale*nOri+o])*u.phase[c]*eyePh[o] - complex(s.dc[o]*bl, 0)
		if u.conj[c] {
			z = cmplx.Conj(z)
		}
		A, Ab := &st.A[c], &st.Ab[c]
		if t == 0 {
			v, vc := z, z
			for k := range tfStages {
				v, vc = gin/(1-p)*v, gin/(1-pc)*vc
				A[k], Ab[k] = v, vc
			}
		}
		v, vc := z, z
		for k := range tfStages {
			A[k] = p*A[k] + gin*v
			Ab[k] = pc*Ab[k] + gin*vc
			v, vc = A[k], Ab[k]
		}
	}
	const last = tfStages - 1
	drive := 0.0
	switch u.class {
	case ClassSimple:
		te := complex(tc.teScale, 0)
		for c := range 3 {
			drive += u.w[c] * math.Max(0, real((st.A[c][last]+st.Ab[c][last])*te*u.psi))
		}
	case ClassComplex:
		for c := range 3 {
			drive += u.w[c] * tc.teScale * cmplx.Abs(st.A[c][last]+st.Ab[c][last])
		}
	case ClassDS:
		for c := range 3 {
			drive += u.w[c] * cmplx.Abs(st.A[c][last])
		}
		drive += u.wNull * cmplx.Abs(st.Ab[0][last])
	}

	pq, pwx, pwy := locate(b.pool, x, y)
	e := bilin(feat.pool, pq+t*b.pool.size(), b.pool.nx, pwx, pwy)
	if t == 0 {
		st.pool = e
	}
	st.pool = b.normAlpha*st.pool + (1-b.normAlpha)*e
	d := drive / (u.c50 + math.Sqrt(math.Max(0, st.pool)))
	return math.Pow(d, u.exponent)
}

// locate returns, for pixel position (x, y) clamped to grid g, the index of the node at
// the lower grid indices and the bilinear weights of the next nodes in x and y.
func locate(g grid, x, y float64) (q int, wx, wy float64) {
	st := float64(g.step)
	fx := math.Max(0, math.Min(x/st, float64(g.nx-1)))
	fy := math.Max(0, math.Min(y/st, float64(g.ny-1)))
	ix, iy := min(int(fx), g.nx-2), min(int(fy), g.ny-2)
	return iy*g.nx + ix, fx - float64(ix), fy - float64(iy)
}

// bilin interpolates the real map m at node q + (wx, wy) (nodes q, q+1, q+nx, q+nx+1).
func bilin(m []float32, q, nx int, wx, wy float64) float64 {
	a := (1-wx)*float64(m[q]) + wx*float64(m[q+1])
	c := (1-wx)*float64(m[q+nx]) + wx*float64(m[q+nx+1])
	return (1-wy)*a + wy*c
}

// cubic holds the Catmull-Rom interpolation of one position on a grid: the 4×4 nodes
// around it (edges repeated) and their separable weights. Cubic rather than bilinear
// interpolation keeps the error on the demodulated Gabor maps, whose spectrum reaches
// about 2/σ, below 1–2 % half-way between nodes (bilinear: up to 12 %).
type cubic struct {
	idx [16]int     // node offsets into a [T, ny, nx] map (complex maps: ×2)
	w   [16]float64 // weights, summing to 1
}

// locate sets c for pixel position (x, y), clamped to grid g, in the frame starting at
// node offset base.
func (c *cubic) locate(g grid, x, y float64, base int) {
	st := float64(g.step)
	fx := math.Max(0, math.Min(x/st, float64(g.nx-1)))
	fy := math.Max(0, math.Min(y/st, float64(g.ny-1)))
	ix, iy := min(int(fx), g.nx-2), min(int(fy), g.ny-2)
	wx, wy := catmullRom(fx-float64(ix)), catmullRom(fy-float64(iy))
	for a := range 4 {
		row := base + clamp(iy+a-1, 0, g.ny-1)*g.nx
		for b := range 4 {
			c.idx[4*a+b] = row + clamp(ix+b-1, 0, g.nx-1)
			c.w[4*a+b] = wy[a] * wx[b]
		}
	}
}

// real interpolates the real map m.
func (c *cubic) real(m []float32) float64 {
	v := 0.0
	for k, i := range c.idx {
		v += c.w[k] * float64(m[i])
	}
	return v
}

// complex interpolates the interleaved complex map m.
func (c *cubic) complex(m []float32) complex128 {
	var re, im float64
	for k, i := range c.idx {
		re += c.w[k] * float64(m[2*i])
		im += c.w[k] * float64(m[2*i+1])
	}
	return complex(re, im)
}

// catmullRom returns the weights of the nodes at −1, 0, 1, 2 for fraction f ∈ [0, 1].
func catmullRom(f float64) [4]float64 {
	f2, f3 := f*f, f*f*f
	return [4]float64{(-f3 + 2*f2 - f) / 2, (3*f3 - 5*f2 + 2) / 2, (-3*f3 + 4*f2 + f) / 2, (f3 - f2) / 2}
}

// calibrate sets every unit's gain (from its target mean) and its count scale κ (from
// its target reliability) on the bank's calibration clip at rest.
func (m *Mouse) calibrate() {
	feat := m.bank.calib
	T := feat.t
	in := m.newInputs(feat, m.RestBehavior(T))
	m.forUnits(feat, in, func(idx []int, buf []float64) {
		n := len(idx)
		for k, i := range idx {
			u := &m.units[i]
			x := func(t int) float64 { return buf[t*n+k] }
			mean := u.target
			mu := 0.0
			for t := calibBurnIn; t < T; t++ {
				mu += x(t)
			}
			mu /= float64(T - calibBurnIn)
			u.gain = (mean - u.base) / math.Max(mu, 1e-12)
			// Signal variance of the calcium-filtered rate.
			a := u.aCa
			c := u.gain*x(0) + u.base
			var s1, s2 float64
			for t := range T {
				c = a*c + (1-a)*(u.gain*x(t)+u.base)
				if t >= calibBurnIn {
					s1 += c
					s2 += c * c
				}
			}
			nt := float64(T - calibBurnIn)
			varS := math.Max(s2/nt-(s1/nt)*(s1/nt), 1e-12)
			// CC_max² = σs²/(σs² + σn²/R) ⇒ σn² = R·σs²·(1/ρ² − 1), and a Poisson count
			// of mean κ·r through the kernel h (Σh = 1) has σn² = Σh²·mean/κ.
			sumH2 := (1 - a) / (1 + a)
			noiseVar := ReliabilityRepeats * varS * (1/(u.rel*u.rel) - 1)
			u.kappa = math.Min(sumH2*mean/noiseVar, 1e6)
		}
	})
}

// poisson draws a Poisson count of mean mu: by inversion below 30, by a rounded normal
// approximation above (its error there is well below the noise it models).
func poisson(rng *rand.Rand, mu float64) float64 {
	if !(mu > 0) {
		return 0
	}
	if mu >= 30 {
		return math.Max(0, math.Round(mu+math.Sqrt(mu)*rng.NormFloat64()))
	}
	x := rng.Float64()
	p := math.Exp(-mu)
	cdf, k := p, 0.0
	for x > cdf && p > 0 {
		k++
		p *= mu / k
		cdf += p
	}
	return k
}
