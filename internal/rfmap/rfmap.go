// Package rfmap estimates where each unit looks — its receptive-field centre on the
// stimulus — from recorded responses alone, by reverse correlation with local motion
// energy. Training starts each unit's readout position there instead of at the centre of
// the core's map, since a position learned by gradient only moves within about one map
// cell of where it starts.
//
// The estimate of one unit is the peak of the correlation, over training frames, between
// its response and the local motion energy of the stimulus (squared frame differences,
// blurred, delayed by a causal exponential like a calcium indicator's). When the units'
// cortical positions are known, each unit's correlation map is first averaged with those
// of its neighbours in the same area (retinotopy: nearby neurons look at nearby places),
// which removes most of the noise of a single unit's map. Then, area by area, an affine
// map from cortical position to centre is fitted to the units' own maps and replaces the
// pooled peaks where it explains those maps better (retinotopy.go): on a digital mouse
// of 300 units it halves the median error of the pooled peaks (TestCentersOfDigitalMouse).
package rfmap

import (
	"errors"
	"fmt"
	"math"

	"github.com/fmcore/fmcore/internal/kernels"
)

// ErrInput reports arguments of the wrong size or value.
var ErrInput = errors.New("rfmap: invalid input")

// Options are the settings of the estimate.
type Options struct {
	Blur float64 // SD of the Gaussian blur of the motion energy, as a fraction of the frame width
	Lag  float64 // time constant of the causal exponential that delays the energy, frames
	Skip int     // frames left out at the start of each trial while the lag filter fills (≥ 1)
	Pool float64 // SD of the cortical pooling kernel, µm; 0 pools nothing
	Grid int     // the energy is block-averaged to at most Grid columns
	// Retinotopy fits, per area, an affine map from cortical position to centre (only
	// when positions are known and Pool > 0).
	Retinotopy bool
}

// DefaultOptions returns the settings for a recording clock of rateHz: a blur of 3/64 of
// the frame width (3 pixels at 64), a lag of 0.27 s (8 frames at 30 Hz, about a calcium
// indicator's decay), 0.5 s skipped per trial, pooling over 60 µm, at most 64 columns,
// an affine retinotopic map per area.
func DefaultOptions(rateHz float64) Options {
	return Options{Blur: 3.0 / 64, Lag: 0.27 * rateHz, Skip: int(math.Round(0.5 * rateHz)), Pool: 60, Grid: 64, Retinotopy: true}
}

// Mapper accumulates the stimulus–response correlations of one session's trials.
type Mapper struct {
	opt    Options
	u      int       // units
	h, w   int       // frame height and width, pixels
	k      int       // block size of the energy grid, pixels
	gh, gw int       // energy grid height and width
	blur   []float32 // normalised Gaussian taps, odd length

	cross []float32 // [U, P] Σ_t r̃[t,u]·F̃[t,p] over trials (P = gh·gw)
	rr    []float64 // [U] Σ_t r̃²
	ff    []float64 // [P] Σ_t F̃²
	n     int       // frames accumulated

	// Scratch, grown to the longest trial.
	prev, cur, tmp []float32 // [H·W] luminance of the previous and current frame, energy
	block          []float32 // [P] energy averaged over the grid's blocks
	line           []float32 // [max(gh, gw)] one row or column being blurred
	mean           []float64 // [max(P, U)] column means
	count          []int     // [max(P, U)] non-NaN entries per column
	lag            []float32 // [P] lagged energy
	feat           []float32 // [T, P] lagged energy of the kept frames
	resp           []float32 // [T, U] centred responses of the kept frames
}

// New returns a Mapper for u units and frames of h×w pixels.
func New(u, h, w int, opt Options) (*Mapper, error) {
	switch {
	case u < 1 || h < 2 || w < 2:
		return nil, fmt.Errorf("%w: %d units of %d×%d frames, want at least 1 unit and 2×2 pixels", ErrInput, u, h, w)
	case !(opt.Blur > 0 && opt.Blur < 1) || !(opt.Lag > 0 && opt.Lag < 1e4) || opt.Skip < 1 || !(opt.Pool >= 0) || opt.Grid < 2:
		return nil, fmt.Errorf("%w: options %+v, want blur in (0, 1), lag in (0, 1e4) frames, skip ≥ 1 (the first frame has no difference), pool ≥ 0, grid ≥ 2", ErrInput, opt)
	}
	k := max(1, (w+opt.Grid-1)/opt.Grid)
	m := &Mapper{opt: opt, u: u, h: h, w: w, k: k, gh: max(1, h/k), gw: max(1, w/k)}
	m.blur = gaussian(opt.Blur * float64(m.gw)) // on the grid: cheap at any frame size
	P := m.gh * m.gw
	m.cross = make([]float32, u*P)
	m.rr = make([]float64, u)
	m.ff = make([]float64, P)
	m.prev, m.cur, m.tmp = make([]float32, h*w), make([]float32, h*w), make([]float32, h*w)
	m.block = make([]float32, P)
	m.line = make([]float32, max(m.gh, m.gw))
	m.lag = make([]float32, P)
	m.mean, m.count = make([]float64, max(P, u)), make([]int, max(P, u))
	return m, nil
}

// gaussian returns the taps of a Gaussian of SD sd (pixels), truncated at 3 SD, summing to 1.
func gaussian(sd float64) []float32 {
	r := max(1, int(math.Ceil(3*sd)))
	taps := make([]float32, 2*r+1)
	var sum float64
	for i := range taps {
		x := float64(i - r)
		v := math.Exp(-x * x / (2 * sd * sd))
		taps[i] = float32(v)
		sum += v
	}
	for i := range taps {
		taps[i] /= float32(sum)
	}
	return taps
}

// Frames returns the number of frames accumulated so far.
func (m *Mapper) Frames() int { return m.n }

// Add accumulates one trial: frames [T, H, W] (pixels) and responses [T, U]. NaN
// responses are left out. A trial no longer than the skipped start adds nothing.
func (m *Mapper) Add(frames []uint8, responses []float32, T int) error {
	hw, P, U := m.h*m.w, m.gh*m.gw, m.u
	switch {
	case T < 0 || len(frames) != T*hw || len(responses) != T*U:
		return fmt.Errorf("%w: trial of %d frames with %d pixels and %d responses, want T·H·W = %d and T·U = %d",
			ErrInput, T, len(frames), len(responses), T*hw, T*U)
	case T <= m.opt.Skip+1:
		return nil
	}
	kept := T - m.opt.Skip
	m.feat = growTo(m.feat, kept*P)
	m.resp = growTo(m.resp, kept*U)
	a := float32(math.Exp(-1 / m.opt.Lag))
	clear(m.lag)
	for t := range T {
		m.prev, m.cur = m.cur, m.prev
		for i, v := range frames[t*hw : (t+1)*hw] {
			m.cur[i] = float32(v) / 255
		}
		if t == 0 {
			continue
		}
		for i := range m.cur {
			d := m.cur[i] - m.prev[i]
			m.tmp[i] = d * d
		}
		m.average(m.tmp)
		smooth(m.block, m.gh, m.gw, m.blur, m.line)
		for p, v := range m.block {
			m.lag[p] = a*m.lag[p] + (1-a)*v
		}
		if t >= m.opt.Skip {
			row := m.feat[(t-m.opt.Skip)*P : (t-m.opt.Skip+1)*P]
			copy(row, m.lag)
			var mean float32
			for _, v := range row {
				mean += v
			}
			mean /= float32(P)
			for i := range row {
				row[i] -= mean // the spatial mean: global changes (cuts, fades) drive every unit
			}
		}
	}
	copy(m.resp, responses[m.opt.Skip*U:T*U])
	m.centreColumns(m.feat, kept, P)
	m.centreColumns(m.resp, kept, U)
	for t := range kept {
		for p, v := range m.feat[t*P : (t+1)*P] {
			m.ff[p] += float64(v) * float64(v)
		}
		for u, v := range m.resp[t*U : (t+1)*U] {
			m.rr[u] += float64(v) * float64(v)
		}
	}
	m.n += kept
	// cross [U, P] += respᵀ [U, kept] · feat [kept, P]
	return kernels.Gemm(true, false, U, P, kept, 1, m.resp, U, m.feat, P, 1, m.cross, P)
}

// centreColumns subtracts from each column of x [rows, cols] its mean over the rows where
// it is not NaN, and sets NaN entries to 0 (so that they add nothing to the sums).
func (m *Mapper) centreColumns(x []float32, rows, cols int) {
	sum, cnt := m.mean[:cols], m.count[:cols]
	clear(sum)
	clear(cnt)
	for r := range rows {
		for c, v := range x[r*cols : (r+1)*cols] {
			if !math.IsNaN(float64(v)) {
				sum[c] += float64(v)
				cnt[c]++
			}
		}
	}
	for c := range sum {
		if cnt[c] > 0 {
			sum[c] /= float64(cnt[c])
		}
	}
	for r := range rows {
		row := x[r*cols : (r+1)*cols]
		for c, v := range row {
			if math.IsNaN(float64(v)) {
				row[c] = 0
			} else {
				row[c] = v - float32(sum[c])
			}
		}
	}
}

// convolve writes the blur of line into dst[i·stride] for every i, with taps renormalised
// at the ends.
func convolve(dst []float32, stride int, line, taps []float32) {
	r := len(taps) / 2
	for i := range line {
		var s, n float32
		for j, t := range taps {
			q := i + j - r
			if q < 0 || q >= len(line) {
				continue
			}
			s += t * line[q]
			n += t
		}
		dst[i*stride] = s / n
	}
}

// average block-averages the energy e [H, W] onto the grid (m.block).
func (m *Mapper) average(e []float32) {
	k, gw := m.k, m.gw
	inv := 1 / float32(k*k)
	for gy := range m.gh {
		for gx := range gw {
			var s float32
			for dy := range k {
				base := (gy*k+dy)*m.w + gx*k
				for _, v := range e[base : base+k] {
					s += v
				}
			}
			m.block[gy*gw+gx] = s * inv
		}
	}
}

func growTo(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}
