package rfmap

import (
	"fmt"
	"math"
)

// smoothGrid is the SD, in energy-grid cells, of the blur of each unit's correlation map
// before its peak is taken.
const smoothGrid = 1.0

// Centers returns each unit's estimated receptive-field centre, centers [U, 2] (x right,
// y down, in pixels of the frame, origin at the centre of the top-left pixel), and the
// correlation at the peak, peaks [U]. cortex [U, 3] (µm) and areas [U] pool each unit's
// map with those of the same area within three pooling SDs; with cortex nil (positions
// unknown) or Options.Pool 0, each unit stands alone. With Options.Retinotopy the pooled
// centres of each area are then replaced by an affine map from cortical position, when it
// fits the units' own maps better (fitRetinotopy). A unit whose responses never vary gets
// the frame centre and peak 0; peaks are those of the pooled maps.
func (m *Mapper) Centers(cortex []float32, areas []string) (centers, peaks []float64, err error) {
	U, P := m.u, m.gh*m.gw
	if m.n == 0 {
		return nil, nil, fmt.Errorf("%w: no frames accumulated (every trial shorter than %d frames?)", ErrInput, m.opt.Skip+2)
	}
	pool := cortex != nil && m.opt.Pool > 0
	if pool {
		if len(cortex) != 3*U || len(areas) != U {
			return nil, nil, fmt.Errorf("%w: %d cortical coordinates and %d areas for %d units, want 3·U and U", ErrInput, len(cortex), len(areas), U)
		}
		for i, v := range cortex {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, nil, fmt.Errorf("%w: cortical position of unit %d is %g, want finite", ErrInput, i/3, v)
			}
		}
	}
	corr := make([]float32, U*P)
	taps := gaussian(smoothGrid)
	line := make([]float32, max(m.gh, m.gw))
	for u := range U {
		c := corr[u*P : (u+1)*P]
		if m.rr[u] > 0 {
			for p := range P {
				if m.ff[p] > 0 {
					c[p] = float32(float64(m.cross[u*P+p]) / math.Sqrt(m.rr[u]*m.ff[p]))
				}
			}
		}
		smooth(c, m.gh, m.gw, taps, line)
	}
	own := corr
	var self []float64
	if pool {
		corr, self = m.poolNeighbours(corr, cortex, areas)
	}
	grid := make([]float64, 2*U) // centres in grid cells
	peaks = make([]float64, U)
	for u := range U {
		if m.rr[u] <= 0 {
			grid[2*u], grid[2*u+1] = float64(m.gw-1)/2, float64(m.gh-1)/2
			continue
		}
		var v float32
		grid[2*u], grid[2*u+1], v = peak(corr[u*P:(u+1)*P], m.gh, m.gw)
		peaks[u] = float64(v)
	}
	if pool && m.opt.Retinotopy && m.gh > 1 && m.gw > 1 {
		m.fitRetinotopy(own, corr, self, cortex, areas, grid)
	}
	centers = make([]float64, 2*U)
	for u := range U {
		if m.rr[u] <= 0 {
			centers[2*u], centers[2*u+1] = float64(m.w-1)/2, float64(m.h-1)/2
			continue
		}
		centers[2*u] = (grid[2*u]+0.5)*float64(m.k) - 0.5
		centers[2*u+1] = (grid[2*u+1]+0.5)*float64(m.k) - 0.5
	}
	return centers, peaks, nil
}

// smooth blurs the gh×gw map c in place with the separable Gaussian taps, renormalised
// where they fall outside the map so that the edges are not darkened. line holds
// max(gh, gw) floats.
func smooth(c []float32, gh, gw int, taps, line []float32) {
	for y := range gh {
		copy(line[:gw], c[y*gw:(y+1)*gw])
		convolve(c[y*gw:(y+1)*gw], 1, line[:gw], taps)
	}
	for x := range gw {
		for y := range gh {
			line[y] = c[y*gw+x]
		}
		convolve(c[x:], gw, line[:gh], taps)
	}
}

// poolNeighbours returns, for every unit, the Gaussian-weighted mean of the maps of the
// units of its area within 3 SDs of cortical distance (itself included), and its own
// weight's share of that mean, self [U].
func (m *Mapper) poolNeighbours(corr []float32, cortex []float32, areas []string) (pooled []float32, self []float64) {
	U, P := m.u, m.gh*m.gw
	sd := m.opt.Pool
	cut := 9 * sd * sd
	out := make([]float32, U*P)
	self = make([]float64, U)
	for u := range U {
		dst := out[u*P : (u+1)*P]
		var wsum float64
		for v := range U {
			if areas[v] != areas[u] {
				continue
			}
			dx := float64(cortex[3*u] - cortex[3*v])
			dy := float64(cortex[3*u+1] - cortex[3*v+1])
			d2 := dx*dx + dy*dy // across the cortical surface; depth does not move the RF
			if d2 > cut {
				continue
			}
			w := math.Exp(-d2 / (2 * sd * sd))
			wsum += w
			wf := float32(w)
			for p, c := range corr[v*P : (v+1)*P] {
				dst[p] += wf * c
			}
		}
		self[u] = 1 / wsum
		inv := float32(1 / wsum)
		for p := range dst {
			dst[p] *= inv
		}
	}
	return out, self
}

// peak returns the position (grid cells, sub-cell by a parabola through the maximum and
// its two neighbours along each axis) and value of the maximum of the gh×gw map c.
func peak(c []float32, gh, gw int) (x, y float64, v float32) {
	best := 0
	for p, val := range c {
		if val > c[best] {
			best = p
		}
	}
	bx, by := best%gw, best/gw
	x, y = float64(bx), float64(by)
	if bx > 0 && bx < gw-1 {
		x += vertex(c[best-1], c[best], c[best+1])
	}
	if by > 0 && by < gh-1 {
		y += vertex(c[best-gw], c[best], c[best+gw])
	}
	return x, y, c[best]
}

// vertex returns the offset, in (−0.5, 0.5), of the vertex of the parabola through
// (−1, l), (0, c), (1, r) when c is a maximum; 0 when the three are collinear.
func vertex(l, c, r float32) float64 {
	den := float64(l - 2*c + r)
	if den >= 0 {
		return 0
	}
	return math.Max(-0.5, math.Min(0.5, 0.5*float64(l-r)/den))
}
