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
//   - observed, one noisy trial: per frame a Poisson count of mean κ·g(t)·rate divided
//     by κ, passed through the same kernel. g is a slow multiplicative gain noise, the
//     same kind of trial-to-trial excitability fluctuation real neurons show:
//     g = exp(z − s²/2) with z a stationary Gaussian AR(1) process of SD s (the unit's
//     gain-noise SD) and time constant gainNoiseTau, so E[g] = 1 and E[observed] = rate
//     exactly. observed is non-negative.
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
		rho := math.Exp(-1 / (gainNoiseTau * m.bank.spec.RateHz))
		for k, i := range idx {
			u := &m.units[i]
			pcg.Seed(seed, uint64(i))
			a := u.aCa
			sd := u.gainSD
			innov := sd * math.Sqrt(1-rho*rho)
			var z float64 // log noise gain + s²/2
			if sd > 0 {
				z = sd * noise.NormFloat64()
			}
			var truth, obs float64
			for t := range T {
				r := in.gain(u, t) * u.stim(buf[t*len(idx)+k])
				g := 1.0
				if sd > 0 {
					if t > 0 {
						z = rho*z + innov*noise.NormFloat64()
					}
					g = math.Exp(z - sd*sd/2)
				}
				n := poisson(noise, u.kappa*g*r) / u.kappa
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

// stim returns the unit's stimulus rate at rest for x, its normalised drive raised to its
// exponent: gain·x·x_s/(x + x_s) + base. The saturation x_s caps it at gain·x_s + base,
// RateCeiling times the unit's target mean (see calibrate); well below x_s it is the
// plain power law gain·x + base.
func (u *unit) stim(x float64) float64 {
	return u.gain*x*u.sat/(x+u.sat) + u.base
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

// calibrate sets every unit's gain, saturation and noise on the bank's calibration clip
// at rest, from the rate x(t) = (drive/(c50+pool))^p of frames calibBurnIn … T−1:
//
//   - Dynamic range. A unit whose drive on the clip is mostly tiny would need an enormous
//     gain to reach its target mean, and any stimulus that does drive it would give rates
//     thousands of times that mean. So the rate saturates (unit.stim) at
//     gain·x_s + base = RateCeiling·target, for any stimulus. With
//     gain = (target − base)/mean(h), h = x·x_s/(x + x_s), the ceiling condition reads
//     1/mean(x/(x + x_s)) = (RateCeiling·target − base)/(target − base); the left side
//     grows monotonically with x_s, which bisection finds. A unit with a modest range on
//     the clip gets x_s ≈ RateCeiling·mean(x) and stays close to its power law; a unit
//     with rare large drives gets a lower x_s and saturates on its preferred stimuli.
//   - Noise. CC_max² = σs²/(σs² + σn²/R) gives the frame-averaged noise variance σn² of
//     the calcium-filtered response, R·σs²·(1/ρ² − 1), from the signal variance σs². It
//     is met first with dense counts, κ = countsPerFrame/target, plus the slow gain noise
//     of SD s ≤ maxGainNoiseSD; if that is too much even with s = 0, κ rises; if too
//     little with s = maxGainNoiseSD, κ falls. noiseVar computes σn² exactly for the
//     clip's rate series (edges and time-varying rate included).
func (m *Mouse) calibrate() {
	feat := m.bank.calib
	T := feat.t
	in := m.newInputs(feat, m.RestBehavior(T))
	rho := math.Exp(-1 / (gainNoiseTau * m.bank.spec.RateHz))
	m.forUnits(feat, in, func(idx []int, buf []float64) {
		n := len(idx)
		xs := make([]float64, T-calibBurnIn)
		r := make([]float64, T)
		for k, i := range idx {
			u := &m.units[i]
			for t := calibBurnIn; t < T; t++ {
				xs[t-calibBurnIn] = buf[t*n+k]
			}
			u.sat, u.gain = saturation(xs, u.target, u.base)
			for t := range T {
				r[t] = u.stim(buf[t*n+k])
			}
			// Signal variance of the calcium-filtered rate.
			a := u.aCa
			c := r[0]
			var s1, s2 float64
			for t := range T {
				c = a*c + (1-a)*r[t]
				if t >= calibBurnIn {
					s1 += c
					s2 += c * c
				}
			}
			nt := float64(T - calibBurnIn)
			varS := math.Max(s2/nt-(s1/nt)*(s1/nt), 1e-12)
			want := ReliabilityRepeats * varS * (1/(u.rel*u.rel) - 1)
			u.kappa, u.gainSD = solveNoise(r, a, rho, want, countsPerFrame/u.target)
		}
	})
}

// saturation returns the saturation x_s and gain of a unit with target mean rate target
// and baseline base whose calibration series is x (see calibrate).
func saturation(x []float64, target, base float64) (sat, gain float64) {
	mean := 0.0
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	if !(mean > 0) {
		return 1, 0 // never driven: the rate is its baseline
	}
	want := (RateCeiling*target - base) / (target - base)
	// f(x_s) = 1/mean(x/(x + x_s)) rises from 1/P(x > 0) at 0 to ∞; bisect in log x_s.
	f := func(s float64) float64 {
		q := 0.0
		for _, v := range x {
			q += v / (v + s)
		}
		return float64(len(x)) / q
	}
	// A unit driven on fewer than 1/want of the frames exceeds the ceiling at any x_s; the
	// bisection then ends at the lowest x_s tried, the least excess.
	lo, hi := mean*1e-9, mean*want
	for f(hi) < want {
		hi *= 2
	}
	for range 60 {
		mid := math.Sqrt(lo * hi)
		if f(mid) < want {
			lo = mid
		} else {
			hi = mid
		}
	}
	sat = hi
	h := 0.0
	for _, v := range x {
		h += v * sat / (v + sat)
	}
	return sat, (target - base) / (h / float64(len(x)))
}

// gainTerms is the number of terms of the series exp(s²ρᵏ) − 1 = Σₙ (s²)ⁿρⁿᵏ/n! that
// noiseVar sums: for s² ≤ maxGainNoiseSD² the rest is below 1e-12 of the first.
const gainTerms = 20

// noiseVar computes the frame-averaged variance (frames calibBurnIn … T−1) of the
// calcium-filtered noise of Respond on a rate series, in closed form. The pre-calcium
// noise n(t) = Poisson(κ·g(t)·r(t))/κ − r(t) has Var = r/κ + r²·(e^{s²} − 1) and
// Cov(n(t), n(t+k)) = r(t)·r(t+k)·(e^{s²ρᵏ} − 1) for k > 0; expanding the exponential
// makes every term geometric in k, so the variance of y(t) = a·y(t−1) + (1−a)·n(t),
// y(−1) = 0, follows by a recursion over t. The Poisson part scales with 1/κ and is
// computed once per unit.
//
// It returns the frame-averaged filtered variance of the gain noise of log variance s2
// (κ = ∞) on rate series r, kernel decay a and noise-gain AR(1) coefficient rho; with
// poisson set, that of the Poisson part at κ = 1 instead.
func noiseVar(r []float64, a, rho, s2 float64, poisson bool) float64 {
	T := len(r)
	var c, rn [gainTerms]float64 // c: (s²)ⁿ/n!, rn: ρⁿ, n = 1 … gainTerms
	cn, pn := 1.0, 1.0
	for j := range gainTerms {
		cn *= s2 / float64(j+1)
		pn *= rho
		c[j], rn[j] = cn, pn
	}
	c0 := math.Expm1(s2)
	var w [gainTerms]float64
	v, sum := 0.0, 0.0
	for t := range T {
		var e, cov float64
		if poisson {
			e = r[t]
		} else {
			e = r[t] * r[t] * c0
			// Cov(y(t−1), n(t)) = (1−a)·r(t)·Σₙ cₙ·wₙ(t), wₙ(t) = Σⱼ≥0 aʲ·ρⁿ⁽ʲ⁺¹⁾·r(t−1−j).
			for j := range gainTerms {
				if t > 0 {
					w[j] = rn[j] * (r[t-1] + a*w[j])
				}
				cov += c[j] * w[j]
			}
			cov *= (1 - a) * r[t]
		}
		v = a*a*v + (1-a)*(1-a)*e + 2*a*(1-a)*cov
		if t >= calibBurnIn {
			sum += v
		}
	}
	return sum / float64(T-calibBurnIn)
}

// solveNoise returns the count scale κ and gain-noise SD s whose noise variance is want:
// κ = k0 with s solved for where s ≤ maxGainNoiseSD allows, otherwise s = 0 and a higher
// κ, or s = maxGainNoiseSD and a lower κ. κ is capped at 1e6 (practically noise-free).
//
// CC_max (MODEL.md 9.3) measures the noise by each trial's variance over time, which
// leaves out the part of the noise shared by all frames of a trial (its trial mean).
// For slow noise that part is not small: for an AR(1) process of coefficient c over N
// frames it is about (1+c)/(N·(1−c)) of the variance (0.2 for the gain noise over a 10-s
// trial). So each part is scaled by 1 minus that fraction, with c = a (Poisson part,
// correlated only by the calcium kernel) or c = rho (gain noise, slower than the kernel).
func solveNoise(r []float64, a, rho, want, k0 float64) (kappa, s float64) {
	N := float64(len(r) - calibBurnIn)
	p1 := noiseVar(r, a, rho, 0, true) * (1 - (1+a)/(N*(1-a)))
	fg := 1 - (1+rho)/(N*(1-rho))
	if p1/k0 >= want {
		return math.Min(p1/want, 1e6), 0
	}
	gMax := fg * noiseVar(r, a, rho, maxGainNoiseSD*maxGainNoiseSD, false)
	if p1/k0+gMax <= want {
		return math.Min(p1/(want-gMax), 1e6), maxGainNoiseSD
	}
	lo, hi := 0.0, maxGainNoiseSD*maxGainNoiseSD
	for range 40 {
		mid := (lo + hi) / 2
		if p1/k0+fg*noiseVar(r, a, rho, mid, false) < want {
			lo = mid
		} else {
			hi = mid
		}
	}
	return k0, math.Sqrt((lo + hi) / 2)
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
