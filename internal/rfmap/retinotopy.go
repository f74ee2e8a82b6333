package rfmap

import (
	"math"
	"slices"
)

// minAreaUnits is the fewest units of one area for which an affine retinotopic map is
// fitted; smaller areas keep their pooled centres.
const minAreaUnits = 12

// fitRetinotopy replaces, area by area, the pooled centres (grid cells, [U, 2]) with an
// affine map from cortical position to receptive-field centre, centre = A·(x, y) + b,
// when that map explains the units' own correlation maps own [U, P] better: it maximises
// the sum over the area's units of each unit's own map at its mapped centre, starting from
// a robust least-squares fit to the pooled centres. One unit's map is too noisy to place
// it (a single unit is about as far off as the frame centre), but a few hundred of them
// fix the six numbers of its area's map; the unit's own scatter around the map is what
// remains. Pooling over neighbours alone blurs every map by the spread of its
// neighbours' centres and pulls the units at an area's edge inwards.
//
// The comparison is fair to pooling: the pooled alternative places each unit at the peak
// of its neighbours' maps without its own (pooled [U, P] less self [U] times its own map,
// self being its own share of the pooling weights), so that its own map's noise does not
// both choose the place and score it. Units with no neighbour are left out of it.
func (m *Mapper) fitRetinotopy(own, pooled []float32, self []float64, cortex []float32, areas []string, centers []float64) {
	groups := map[string][]int{}
	for u, a := range areas {
		groups[a] = append(groups[a], u)
	}
	names := make([]string, 0, len(groups))
	for a := range groups {
		names = append(names, a)
	}
	slices.Sort(names)
	P := m.gh * m.gw
	others := make([]float32, P)
	for _, a := range names {
		idx := groups[a]
		if len(idx) < minAreaUnits {
			continue
		}
		f := newAreaFit(m, own, cortex, idx)
		start, ok := f.leastSquares(centers)
		if !ok {
			continue
		}
		best, _ := f.climb(start)
		var fitted, alone float64
		for i, u := range idx {
			if self[u] > 0.999 {
				continue
			}
			for p := range others {
				others[p] = pooled[u*P+p] - float32(self[u])*own[u*P+p]
			}
			gx, gy, _ := peak(others, m.gh, m.gw)
			alone += f.at(i, gx, gy)
			gx, gy = f.apply(best, i)
			fitted += f.at(i, gx, gy)
		}
		if fitted <= alone {
			continue
		}
		for i, u := range idx {
			centers[2*u], centers[2*u+1] = f.apply(best, i)
		}
	}
}

// areaFit holds one area's units: their standardised cortical coordinates and own maps.
type areaFit struct {
	m      *Mapper
	own    []float32 // [U, P] every unit's own smoothed map
	idx    []int     // the area's units
	cx, cy []float64 // standardised cortical coordinates of idx
}

func newAreaFit(m *Mapper, own []float32, cortex []float32, idx []int) *areaFit {
	f := &areaFit{m: m, own: own, idx: idx, cx: make([]float64, len(idx)), cy: make([]float64, len(idx))}
	for i, u := range idx {
		f.cx[i], f.cy[i] = float64(cortex[3*u]), float64(cortex[3*u+1])
	}
	standardise(f.cx)
	standardise(f.cy)
	return f
}

// standardise shifts and scales v to mean 0 and SD 1 (an SD of 0 leaves it at 0).
func standardise(v []float64) {
	var mean, ss float64
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	sd := math.Sqrt(ss / float64(len(v)))
	for i := range v {
		v[i] -= mean
		if sd > 0 {
			v[i] /= sd
		}
	}
}

// affine is the map (gx, gy) = (p0 + p1·cx + p2·cy, p3 + p4·cx + p5·cy), in grid cells.
type affine [6]float64

// apply returns unit i's centre under p, clamped to the grid.
func (f *areaFit) apply(p affine, i int) (gx, gy float64) {
	gx = p[0] + p[1]*f.cx[i] + p[2]*f.cy[i]
	gy = p[3] + p[4]*f.cx[i] + p[5]*f.cy[i]
	return math.Max(0, math.Min(float64(f.m.gw-1), gx)), math.Max(0, math.Min(float64(f.m.gh-1), gy))
}

// score returns the sum over the area's units of their own maps at their centres under p.
func (f *areaFit) score(p affine) float64 {
	var s float64
	for i := range f.idx {
		gx, gy := f.apply(p, i)
		s += f.at(i, gx, gy)
	}
	return s
}

// at returns unit i's own map at (gx, gy), bilinearly interpolated, inside the grid.
func (f *areaFit) at(i int, gx, gy float64) float64 {
	gw, gh := f.m.gw, f.m.gh
	P := gw * gh
	c := f.own[f.idx[i]*P : (f.idx[i]+1)*P]
	x0 := min(int(gx), gw-2)
	y0 := min(int(gy), gh-2)
	tx, ty := gx-float64(x0), gy-float64(y0)
	v00, v01 := float64(c[y0*gw+x0]), float64(c[y0*gw+x0+1])
	v10, v11 := float64(c[(y0+1)*gw+x0]), float64(c[(y0+1)*gw+x0+1])
	return (1-ty)*((1-tx)*v00+tx*v01) + ty*((1-tx)*v10+tx*v11)
}

// leastSquares fits the affine map to the pooled centres [U, 2] (grid cells), reweighting
// three times with Tukey's biweight so that units whose pooled peak landed far from the
// rest count little. ok is false when the cortical coordinates do not span a plane.
func (f *areaFit) leastSquares(centers []float64) (p affine, ok bool) {
	n := len(f.idx)
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
	}
	res := make([]float64, n)
	for iter := range 4 {
		var ata [3][3]float64
		var atx, aty [3]float64
		for i, u := range f.idx {
			row := [3]float64{1, f.cx[i], f.cy[i]}
			for a := range 3 {
				for b := range 3 {
					ata[a][b] += w[i] * row[a] * row[b]
				}
				atx[a] += w[i] * row[a] * centers[2*u]
				aty[a] += w[i] * row[a] * centers[2*u+1]
			}
		}
		qx, okx := solve3(ata, atx)
		qy, oky := solve3(ata, aty)
		if !okx || !oky {
			return p, false
		}
		p = affine{qx[0], qx[1], qx[2], qy[0], qy[1], qy[2]}
		if iter == 3 {
			break
		}
		for i, u := range f.idx {
			gx := p[0] + p[1]*f.cx[i] + p[2]*f.cy[i]
			gy := p[3] + p[4]*f.cx[i] + p[5]*f.cy[i]
			res[i] = math.Hypot(centers[2*u]-gx, centers[2*u+1]-gy)
		}
		sorted := slices.Clone(res)
		slices.Sort(sorted)
		c := 4.685 * 1.4826 * math.Max(sorted[n/2], 0.5) // biweight cut-off at 4.685 robust SDs (MAD-based)
		for i, r := range res {
			if r >= c {
				w[i] = 0
			} else {
				q := 1 - (r/c)*(r/c)
				w[i] = q * q
			}
		}
	}
	return p, true
}

// solve3 solves the 3×3 system a·x = b by Gaussian elimination with partial pivoting.
func solve3(a [3][3]float64, b [3]float64) (x [3]float64, ok bool) {
	for col := range 3 {
		piv := col
		for r := col + 1; r < 3; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[piv][col]) {
				piv = r
			}
		}
		if math.Abs(a[piv][col]) < 1e-9 {
			return x, false
		}
		a[col], a[piv] = a[piv], a[col]
		b[col], b[piv] = b[piv], b[col]
		for r := col + 1; r < 3; r++ {
			k := a[r][col] / a[col][col]
			for c := col; c < 3; c++ {
				a[r][c] -= k * a[col][c]
			}
			b[r] -= k * b[col]
		}
	}
	for r := 2; r >= 0; r-- {
		s := b[r]
		for c := r + 1; c < 3; c++ {
			s -= a[r][c] * x[c]
		}
		x[r] = s / a[r][r]
	}
	return x, true
}

// climb maximises score by pattern search from p: each coordinate is moved up and down by
// its step while that improves the score, and the steps halve when no move does, from one
// grid cell (over one SD of cortex, for the slopes) down to 1/32 of a cell.
func (f *areaFit) climb(p affine) (affine, float64) {
	best := f.score(p)
	for step := 1.0; step >= 1.0/32; step /= 2 {
		for improved := true; improved; {
			improved = false
			for k := range p {
				for _, d := range [2]float64{step, -step} {
					q := p
					q[k] += d
					if s := f.score(q); s > best {
						p, best, improved = q, s, true
						break
					}
				}
			}
		}
	}
	return p, best
}
