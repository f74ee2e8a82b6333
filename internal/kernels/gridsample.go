package kernels

import (
	"fmt"
	"math"
)

// GridPad says what grid sampling reads outside the image.
type GridPad int

const (
	// GridZeros reads zeros outside the image (PyTorch padding_mode "zeros"): the perspective
	// module's default "dark" periphery (MODEL.md 4.1 step 5).
	GridZeros GridPad = iota
	// GridBorder clamps the sample coordinate to the image (PyTorch "border"): the readout
	// (MODEL.md 4.6) and the perspective's "extend" option.
	GridBorder
)

// String returns the PyTorch name of the mode.
func (m GridPad) String() string {
	switch m {
	case GridZeros:
		return "zeros"
	case GridBorder:
		return "border"
	}
	return fmt.Sprintf("GridPad(%d)", int(m))
}

// GridSample describes bilinear sampling of images at P points each, PyTorch's grid_sample
// with mode "bilinear" and align_corners = false:
//
//	img  [N, C, H, W]
//	grid [N, P, 2]     (x, y) per point, x along W, y along H, −1 and 1 the outer pixel edges
//	out  [N, C, P]
//
// A grid x maps to the pixel coordinate ((x + 1)·W − 1)/2 (y likewise with H), so x = −1 is the
// left edge of pixel 0 and x = 1 the right edge of pixel W−1. With GridBorder the coordinate is
// clamped to [0, W−1] first, and, as in PyTorch, its gradient is zero where it was clamped,
// including exactly on the border. The perspective module samples P = 128·192 retina pixels
// from the [N, 1, 144, 256] monitor image; the readout P = U unit positions from the core's
// [N, C, 16, 24] feature map.
//
// A point with a NaN grid value samples nothing: its output and its gradients are 0. So does an
// infinite one with GridZeros; GridBorder clamps it to the border like any other value. The
// image must be finite: taps outside the image read pixel 0 with weight 0 (so the inner loops
// need no branch), and 0·Inf or 0·NaN there would spread a bad pixel 0 to those points.
type GridSample struct {
	N, C, H, W, P int
	Pad           GridPad
}

// gridChunk is the number of points one forward or grid-gradient task handles: its taps
// (4 indices and up to 10 floats per point, about 110 KiB) stay in L2.
const gridChunk = 2048

// Validate reports whether the sizes and mode are usable.
func (g GridSample) Validate() error { return g.validate("grid sample") }

// validate is Validate with the kernel name that prefixes its errors.
func (g GridSample) validate(kernel string) error {
	if err := checkPositive(kernel, "N, C, H, W, P", g.N, g.C, g.H, g.W, g.P); err != nil {
		return err
	}
	if g.Pad != GridZeros && g.Pad != GridBorder {
		return fmt.Errorf("%s: unknown padding mode %v: %w", kernel, g.Pad, ErrShape)
	}
	if g.H*g.W > math.MaxInt32 {
		return fmt.Errorf("%s: image %d×%d has more pixels than int32 indices hold: %w", kernel, g.H, g.W, ErrShape)
	}
	return nil
}

// check validates sizes and the lengths of the slices; img may be nil.
func checkGridSample[T Float](g GridSample, kernel string, img, grid, out []T, outName string) error {
	if err := g.validate(kernel); err != nil {
		return err
	}
	if img != nil {
		if err := checkLen(kernel, "image", len(img), g.N*g.C*g.H*g.W); err != nil {
			return err
		}
	}
	if err := checkLen(kernel, "grid", len(grid), g.N*g.P*2); err != nil {
		return err
	}
	return checkLen(kernel, outName, len(out), g.N*g.C*g.P)
}

// GridSampleForward samples img at grid into out (overwritten).
// Shapes: img [N, C, H, W], grid [N, P, 2], out [N, C, P].
func GridSampleForward[T Float](g GridSample, ws *Workspace, img, grid, out []T) error {
	const kernel = "grid sample forward"
	if err := checkWS(kernel, ws); err != nil {
		return err
	}
	if img == nil {
		return fmt.Errorf("%s: nil image: %w", kernel, ErrShape)
	}
	if err := checkGridSample(g, kernel, img, grid, out, "out"); err != nil {
		return err
	}
	chunks := ceilDiv(g.P, gridChunk)
	tasks := g.N * chunks
	k := ws.fanout(tasks)
	idxs, wts := ws.workerInts(k, 4*gridChunk), workerBufs[T](ws, k, 4*gridChunk)
	hw := g.H * g.W
	ws.run(tasks, func(worker, task int) {
		n, p0 := task/chunks, task%chunks*gridChunk
		p1 := min(g.P, p0+gridChunk)
		idx, wt := idxs[worker], wts[worker]
		gridTaps(g, grid[(n*g.P+p0)*2:(n*g.P+p1)*2], idx, wt, nil)
		for c := 0; c < g.C; c++ {
			plane := img[(n*g.C+c)*hw:][:hw]
			dst := out[(n*g.C+c)*g.P+p0:][:p1-p0]
			for i := range dst {
				q := 4 * i
				dst[i] = wt[q]*plane[idx[q]] + wt[q+1]*plane[idx[q+1]] + wt[q+2]*plane[idx[q+2]] + wt[q+3]*plane[idx[q+3]]
			}
		}
	})
	return nil
}

// GridSampleBackward computes the gradients of the loss with respect to the image (dimg) and the grid
// (dgrid) from dout, the gradient with respect to the output. Either may be nil when it is not
// needed; both are overwritten. img is read only for dgrid and may be nil when dgrid is.
// Shapes: img [N, C, H, W], grid [N, P, 2], dout [N, C, P], dimg [N, C, H, W], dgrid [N, P, 2].
func GridSampleBackward[T Float](g GridSample, ws *Workspace, img, grid, dout, dimg, dgrid []T) error {
	const kernel = "grid sample backward"
	if err := checkWS(kernel, ws); err != nil {
		return err
	}
	if err := checkGridSample(g, kernel, img, grid, dout, "dout"); err != nil {
		return err
	}
	hw := g.H * g.W
	if dimg != nil {
		if err := checkLen(kernel, "dimg", len(dimg), g.N*g.C*hw); err != nil {
			return err
		}
		// Points of one image scatter into shared pixels, so a task owns whole channel planes.
		parts := min(g.C, max(1, ceilDiv(ws.workers, g.N)))
		per := ceilDiv(g.C, parts)
		tasks := g.N * parts
		k := ws.fanout(tasks)
		idxs, wts := ws.workerInts(k, 4*g.P), workerBufs[T](ws, k, 4*g.P)
		ws.run(tasks, func(worker, task int) {
			n, c0 := task/parts, task%parts*per
			c1 := min(g.C, c0+per)
			if c0 >= c1 {
				return
			}
			idx, wt := idxs[worker], wts[worker]
			gridTaps(g, grid[n*g.P*2:(n+1)*g.P*2], idx, wt, nil)
			for c := c0; c < c1; c++ {
				plane := dimg[(n*g.C+c)*hw:][:hw]
				clear(plane)
				src := dout[(n*g.C+c)*g.P:][:g.P]
				for i, d := range src {
					q := 4 * i
					plane[idx[q]] += wt[q] * d
					plane[idx[q+1]] += wt[q+1] * d
					plane[idx[q+2]] += wt[q+2] * d
					plane[idx[q+3]] += wt[q+3] * d
				}
			}
		})
	}
	if dgrid == nil {
		return nil
	}
	if img == nil {
		return fmt.Errorf("%s: the grid gradient needs the image, got nil: %w", kernel, ErrShape)
	}
	if err := checkLen(kernel, "dgrid", len(dgrid), g.N*g.P*2); err != nil {
		return err
	}
	chunks := ceilDiv(g.P, gridChunk)
	tasks := g.N * chunks
	k := ws.fanout(tasks)
	// Per point: 4 tap indices; 4 validity masks, (fx, fy, sx, sy) and 2 accumulators.
	idxs, bufs := ws.workerInts(k, 4*gridChunk), workerBufs[T](ws, k, 10*gridChunk)
	ws.run(tasks, func(worker, task int) {
		n, p0 := task/chunks, task%chunks*gridChunk
		p1 := min(g.P, p0+gridChunk)
		m := p1 - p0
		idx, buf := idxs[worker], bufs[worker]
		mask, grad, acc := buf[:4*m], buf[4*m:][:4*m], buf[8*m:][:2*m]
		gridTaps(g, grid[(n*g.P+p0)*2:(n*g.P+p1)*2], idx, mask, grad)
		clear(acc)
		for c := 0; c < g.C; c++ {
			plane := img[(n*g.C+c)*hw:][:hw]
			src := dout[(n*g.C+c)*g.P+p0:][:m]
			for i, d := range src {
				q := 4 * i
				v00 := mask[q] * plane[idx[q]]
				v01 := mask[q+1] * plane[idx[q+1]]
				v10 := mask[q+2] * plane[idx[q+2]]
				v11 := mask[q+3] * plane[idx[q+3]]
				fx, fy := grad[q], grad[q+1]
				acc[2*i] += d * ((v01-v00)*(1-fy) + (v11-v10)*fy)
				acc[2*i+1] += d * ((v10-v00)*(1-fx) + (v11-v01)*fx)
			}
		}
		dst := dgrid[(n*g.P+p0)*2:][:2*m]
		for i := 0; i < m; i++ {
			dst[2*i] = acc[2*i] * grad[4*i+2]
			dst[2*i+1] = acc[2*i+1] * grad[4*i+3]
		}
	})
	return nil
}

// taps computes the four bilinear taps of each point of grid (x, y per point): indices into
// the H·W plane in idx, in the order (y0, x0), (y0, x1), (y1, x0), (y1, x1), where x0 = ⌊ix⌋ and
// x1 = x0 + 1 for the pixel coordinate ix (y likewise). A tap outside the image gets index 0 and
// weight 0, so the inner loops need no branch.
//
// With grad == nil, wt receives the bilinear weights. Otherwise wt receives the taps' 0/1
// validity masks and grad, per point, (fx, fy, sx, sy): the fractional parts ix − x0 and
// iy − y0, and d ix/d x = W/2 and d iy/d y = H/2, or 0 where the border clamp was active.
func gridTaps[T Float](g GridSample, grid []T, idx []int32, wt, grad []T) {
	for i := 0; i < len(grid)/2; i++ {
		ix, sx := gridCoord(g, grid[2*i], g.W)
		iy, sy := gridCoord(g, grid[2*i+1], g.H)
		fx0, fy0 := math.Floor(ix), math.Floor(iy)
		fx, fy := ix-fx0, iy-fy0
		// Clamp before converting, so that huge coordinates cannot wrap into range; every tap
		// of a clamped point lies outside the image anyway.
		x0 := int(math.Max(-2, math.Min(fx0, float64(g.W)+1)))
		y0 := int(math.Max(-2, math.Min(fy0, float64(g.H)+1)))
		if math.IsNaN(fx) || math.IsNaN(fy) {
			// A non-finite coordinate samples nothing and passes no gradient.
			x0, y0, fx, fy, sx, sy = -2, -2, 0, 0, 0, 0
		}
		q := 4 * i
		corner := func(k, y, x int, w float64) {
			if y < 0 || y >= g.H || x < 0 || x >= g.W {
				idx[q+k], wt[q+k] = 0, 0
				return
			}
			idx[q+k] = int32(y*g.W + x)
			if grad == nil {
				wt[q+k] = T(w)
			} else {
				wt[q+k] = 1
			}
		}
		corner(0, y0, x0, (1-fx)*(1-fy))
		corner(1, y0, x0+1, fx*(1-fy))
		corner(2, y0+1, x0, (1-fx)*fy)
		corner(3, y0+1, x0+1, fx*fy)
		if grad != nil {
			grad[q], grad[q+1], grad[q+2], grad[q+3] = T(fx), T(fy), T(sx), T(sy)
		}
	}
}

// coord maps a grid value to a pixel coordinate along an axis of size n (align_corners =
// false), clamping it with GridBorder, and returns d coordinate/d value: n/2, or 0 where the
// clamp was active (PyTorch treats the border itself as clamped).
func gridCoord[T Float](g GridSample, v T, n int) (c, d float64) {
	c = ((float64(v)+1)*float64(n) - 1) / 2
	d = float64(n) / 2
	if g.Pad == GridBorder {
		switch {
		case c <= 0:
			c, d = 0, 0
		case c >= float64(n-1):
			c, d = float64(n-1), 0
		}
	}
	return c, d
}
