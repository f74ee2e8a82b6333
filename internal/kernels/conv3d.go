package kernels

import "fmt"

// PadMode says how a convolution fills the spatial border of its input.
type PadMode int

const (
	// PadZeros reads zeros outside the image (PyTorch padding_mode "zeros").
	PadZeros PadMode = iota
	// PadReplicate reads the nearest edge pixel outside the image (PyTorch "replicate"); the
	// first input projection of the feedforward core uses it (MODEL.md 4.3).
	PadReplicate
)

// String returns the PyTorch name of the mode.
func (m PadMode) String() string {
	switch m {
	case PadZeros:
		return "zeros"
	case PadReplicate:
		return "replicate"
	}
	return fmt.Sprintf("PadMode(%d)", int(m))
}

// TimeMode says how a convolution treats the time axis.
type TimeMode int

const (
	// TimeCausal pads KT−1 zero frames in front, so T_out = T and output frame t sees input
	// frames t−KT+1 … t, tap k multiplying frame t−(KT−1)+k (MODEL.md 1.5, oldest first).
	TimeCausal TimeMode = iota
	// TimeValid pads nothing: T_out = T − KT + 1 and output frame t sees input frames
	// t … t+KT−1. The streaming step runs it on a history of KT frames to produce one frame.
	TimeValid
)

// String returns a short name of the mode.
func (m TimeMode) String() string {
	switch m {
	case TimeCausal:
		return "causal"
	case TimeValid:
		return "valid"
	}
	return fmt.Sprintf("TimeMode(%d)", int(m))
}

// Conv3d describes a grouped 3-D convolution on NCTHW tensors (MODEL.md 1.5, 4.3):
//
//	x    [N, C, T, H, W]           input
//	w    [O, C/G, KT, KH, KW]      weight, exactly the reference's storage order
//	bias [O]                       optional
//	y    [N, O, To, Ho, Wo]        output
//
// with Ho = (H + 2·PadH − KH)/StrideH + 1, Wo likewise, and To = T (TimeCausal) or
// T − KT + 1 (TimeValid). The temporal stride is 1 and temporal padding, where there is any,
// is always zeros (every temporal convolution of the reference pads with zeros; MODEL.md 1.2);
// Pad applies to the spatial border only. A 2-D convolution is the case KT = T = 1, and a
// "Linear" the case KT = KH = KW = 1 with H = W = 1.
//
// Output channel o belongs to group o/(O/G) and reads input channels of the same group.
//
// The kernels (Conv3dForward, Conv3dBackwardData, Conv3dBackwardWeights) lower the convolution
// to matrix products per batch item and group, in column blocks small enough for the im2col
// buffer to stay in L2 (about 1 MiB), fanned out over the Workspace's workers:
//
//   - forward: y_g = W_g · unfold(x_g), W_g the O/G × C/G·KT·KH·KW weight rows as stored;
//   - weights: dW_g = Σ dy_g · unfold(x_g)ᵀ, one partial sum per worker, added at the end;
//   - data, stride 1 and zero padding (every 3×3 and 3×3×3 layer of the model): the transposed
//     convolution as a forward one, dx_g = W̃_g · unfold(dy_g) with W̃ the weights with input
//     and output channels swapped and every kernel axis flipped, so no col2im is needed;
//   - data, other strides or replicate padding (the 6×6 stride-2 input projection):
//     dcol = W_gᵀ · dy_g followed by col2im.
//
// With stride 1, unfold works on a padded copy of each frame and a "wide" column grid (see
// wideConv), so each im2col row is one memmove. A 1×1×1 convolution with stride 1 and no padding
// needs no unfolding at all: gemm reads x and dy and writes dx in place.
type Conv3d struct {
	N, C, O, G int // batch, input channels, output channels, groups (C and O divisible by G)
	T, H, W    int // input frames, height, width
	KT, KH, KW int // kernel frames, height, width

	StrideH, StrideW int // spatial strides; 0 means 1
	PadH, PadW       int // symmetric spatial padding on each side

	Pad  PadMode  // how the spatial padding is filled
	Time TimeMode // causal (T_out = T) or valid (T_out = T − KT + 1)
}

// OutShape returns the output sizes To, Ho, Wo. The result is meaningful only when Validate
// returns nil.
func (p Conv3d) OutShape() (to, ho, wo int) {
	sh, sw := max(1, p.StrideH), max(1, p.StrideW)
	to = p.T
	if p.Time == TimeValid {
		to = p.T - p.KT + 1
	}
	ho = (p.H+2*p.PadH-p.KH)/sh + 1
	wo = (p.W+2*p.PadW-p.KW)/sw + 1
	return to, ho, wo
}

// Lens returns the element counts of x, w and y.
func (p Conv3d) Lens() (x, w, y int) {
	to, ho, wo := p.OutShape()
	return p.N * p.C * p.T * p.H * p.W, p.O * (p.C / max(1, p.G)) * p.KT * p.KH * p.KW, p.N * p.O * to * ho * wo
}

// Validate reports whether the sizes describe a convolution the kernels can run.
func (p Conv3d) Validate() error { return p.validate("conv3d") }

// validate is Validate with the kernel name that prefixes its errors.
func (p Conv3d) validate(kernel string) error {
	if err := checkPositive(kernel, "N, C, O, G, T, H, W, KT, KH, KW", p.N, p.C, p.O, p.G, p.T, p.H, p.W, p.KT, p.KH, p.KW); err != nil {
		return err
	}
	if p.C%p.G != 0 || p.O%p.G != 0 {
		return fmt.Errorf("%s: channels C=%d and O=%d must be divisible by groups G=%d: %w", kernel, p.C, p.O, p.G, ErrShape)
	}
	if p.StrideH < 0 || p.StrideW < 0 || p.PadH < 0 || p.PadW < 0 {
		return fmt.Errorf("%s: negative stride (%d, %d) or padding (%d, %d): %w", kernel, p.StrideH, p.StrideW, p.PadH, p.PadW, ErrShape)
	}
	if p.Pad != PadZeros && p.Pad != PadReplicate {
		return fmt.Errorf("%s: unknown pad mode %v: %w", kernel, p.Pad, ErrShape)
	}
	if p.Time != TimeCausal && p.Time != TimeValid {
		return fmt.Errorf("%s: unknown time mode %v: %w", kernel, p.Time, ErrShape)
	}
	if p.Time == TimeValid && p.KT > p.T {
		return fmt.Errorf("%s: valid time mode needs T=%d ≥ KT=%d frames: %w", kernel, p.T, p.KT, ErrShape)
	}
	if p.KH > p.H+2*p.PadH || p.KW > p.W+2*p.PadW {
		return fmt.Errorf("%s: kernel %d×%d larger than the padded input %d×%d: %w", kernel, p.KH, p.KW, p.H+2*p.PadH, p.W+2*p.PadW, ErrShape)
	}
	return nil
}

// route says how a product is lowered.
type route int

const (
	routeDirect     route = iota // 1×1×1, stride 1, no padding: the operand is the tensor itself
	routeWide                    // stride 1: padded frames on a wide grid (wideConv)
	routeStrided                 // forward and weights with stride > 1: generic unfold
	routeTransposed              // data, stride 1, zero padding: wide transposed convolution
	routeScatter                 // data otherwise: dcol = W_gᵀ·dy_g, then col2im
)

// convPlan is a validated Conv3d with its derived sizes.
type convPlan[T Float] struct {
	Conv3d
	cg, og     int // input and output channels per group
	to, ho, wo int // output sizes
	hw, howo   int // input and output pixels per frame
	r          int // fan-in of one output channel, C/G·KT·KH·KW
	rt         int // fan-in of the transposed convolution, O/G·KT·KH·KW
	fwdRoute   route
	dataRoute  route
	fwd        unfold[T]   // routeStrided, routeScatter
	wide       wideConv[T] // routeWide
	wideT      wideConv[T] // routeTransposed
	budget     int         // elements of one im2col block
	workers    int
}

// planConv validates p and derives the sizes and routes the kernels use.
func planConv[T Float](p Conv3d, kernel string, ws *Workspace) (convPlan[T], error) {
	if err := p.validate(kernel); err != nil {
		return convPlan[T]{}, err
	}
	sh, sw := max(1, p.StrideH), max(1, p.StrideW)
	pl := convPlan[T]{Conv3d: p, cg: p.C / p.G, og: p.O / p.G, budget: ws.budget(), workers: ws.workers}
	pl.to, pl.ho, pl.wo = p.OutShape()
	pl.hw, pl.howo = p.H*p.W, pl.ho*pl.wo
	pl.r = pl.cg * p.KT * p.KH * p.KW
	pl.rt = pl.og * p.KT * p.KH * p.KW
	off := 0
	if p.Time == TimeCausal {
		off = p.KT - 1
	}
	replicate := p.Pad == PadReplicate && (p.PadH > 0 || p.PadW > 0)
	pl.fwd = unfold[T]{
		cs: pl.cg, ts: p.T, hs: p.H, ws: p.W,
		kt: p.KT, kh: p.KH, kw: p.KW, sh: sh, sw: sw, ph: p.PadH, pw: p.PadW,
		off: off, replicate: replicate,
		to: pl.to, ho: pl.ho, wo: pl.wo,
	}
	switch {
	case pl.fwd.identity():
		pl.fwdRoute, pl.dataRoute = routeDirect, routeDirect
		return pl, nil
	case sh == 1 && sw == 1:
		pl.fwdRoute = routeWide
		pl.wide = newWide[T](pl.cg, p.T, p.H, p.W, p.KT, p.KH, p.KW, p.PadH, p.PadW, off, replicate, pl.to)
	default:
		pl.fwdRoute = routeStrided
	}
	if sh == 1 && sw == 1 && !replicate && p.PadH < p.KH && p.PadW < p.KW {
		// Input pixel ih receives output rows ih + PadH − i for taps i; with the flipped tap
		// i' = KH−1−i that is a stride-1 convolution of dy with padding KH−1−PadH. Time flips
		// the same way: input frame s receives output frames s − k + off.
		pl.dataRoute = routeTransposed
		pl.wideT = newWide[T](pl.og, pl.to, pl.ho, pl.wo, p.KT, p.KH, p.KW, p.KH-1-p.PadH, p.KW-1-p.PadW, p.KT-1-off, false, p.T)
	} else {
		pl.dataRoute = routeScatter
	}
	return pl, nil
}

// check validates the slice lengths against the plan.
func (pl *convPlan[T]) check(kernel string, x, w, y []T, xName, wName, yName string) error {
	xl, wl, yl := pl.Lens()
	if err := checkLen(kernel, xName, len(x), xl); err != nil {
		return err
	}
	if err := checkLen(kernel, wName, len(w), wl); err != nil {
		return err
	}
	return checkLen(kernel, yName, len(y), yl)
}

// blocking splits total columns per item into blocks for a product whose unfolded operand has
// rows rows: as many columns as fit the budget (all of them when nothing is unfolded), a
// multiple of 64 for the BLAS panels, and then smaller if items·blocks would leave a worker
// idle. It returns the block size and the number of blocks.
func (pl *convPlan[T]) blocking(items, total, rows int) (cc, blocks int) {
	cc = total
	if rows > 0 {
		cc = min(total, max(64, pl.budget/rows/64*64))
	}
	if items*ceilDiv(total, cc) < pl.workers {
		cc = ceilDiv(total, ceilDiv(pl.workers, items))
	}
	return cc, ceilDiv(total, cc)
}

// wideBlocking is blocking for the wide route, whose tasks are whole output frames (so each
// task pads its source frames once) made of blocks run one after the other. A frame is split
// into parts, each its own task, only when there are fewer frames than workers. It returns the
// block size and the number of parts per frame.
func (pl *convPlan[T]) wideBlocking(items, total, rows int) (cc, parts int) {
	cc = min(total, max(64, pl.budget/rows/64*64))
	parts = 1
	if items < pl.workers {
		parts = min(ceilDiv(total, cc), ceilDiv(pl.workers, items))
	}
	return cc, parts
}

// partRange returns the columns [a, b) of part of parts, in whole blocks of cc columns, out of
// total.
func partRange(total, cc, parts, part int) (a, b int) {
	blocks := ceilDiv(total, cc)
	per := ceilDiv(blocks, parts)
	return min(total, part*per*cc), min(total, (part+1)*per*cc)
}

// Conv3dForward computes y = conv(x, w) + bias; bias may be nil. y is overwritten.
// Shapes: x [N, C, T, H, W], w [O, C/G, KT, KH, KW], bias [O], y [N, O, To, Ho, Wo].
func Conv3dForward[T Float](p Conv3d, ws *Workspace, x, w, bias, y []T) error {
	const kernel = "conv3d forward"
	if err := checkWS(kernel, ws); err != nil {
		return err
	}
	pl, err := planConv[T](p, kernel, ws)
	if err != nil {
		return err
	}
	if err := pl.check(kernel, x, w, y, "x", "w", "y"); err != nil {
		return err
	}
	if bias != nil {
		if err := checkLen(kernel, "bias", len(bias), p.O); err != nil {
			return err
		}
	}
	ldx, ldy := p.T*pl.hw, pl.to*pl.howo
	if pl.fwdRoute == routeWide {
		wc := &pl.wide
		cc, parts := pl.wideBlocking(p.N*p.G*pl.to, wc.cols(), wc.rows())
		tasks := p.N * p.G * pl.to * parts
		bufs := workerBufs[T](ws, ws.fanout(tasks), wc.padLen()+(wc.rows()+pl.og)*cc)
		ws.run(tasks, func(worker, task int) {
			ngt, part := task/parts, task%parts
			n, g, t := ngt/pl.to/p.G, ngt/pl.to%p.G, ngt%pl.to
			buf := bufs[worker]
			pad, col, cm := buf[:wc.padLen()], buf[wc.padLen():][:wc.rows()*cc], buf[wc.padLen()+wc.rows()*cc:]
			src := x[(n*p.C+g*pl.cg)*ldx:]
			if wc.padded() {
				wc.padFrames(src, pad, t)
				src = pad
			}
			var bg []T
			if bias != nil {
				bg = bias[g*pl.og:]
			}
			pa, pb := partRange(wc.cols(), cc, parts, part)
			for a := pa; a < pb; a += cc {
				b := min(a+cc, pb)
				wc.gather(src, col, b-a, t, a, b)
				gemm(false, false, pl.og, b-a, pl.r, 1, w[g*pl.og*pl.r:], pl.r, col, b-a, 0, cm, b-a)
				wc.compact(cm, b-a, pl.og, y[(n*p.O+g*pl.og)*ldy:], ldy, t, a, b, bg)
			}
		})
		return nil
	}
	rows := pl.r
	if pl.fwdRoute == routeDirect {
		rows = 0
	}
	cc, blocks := pl.blocking(p.N*p.G, ldy, rows)
	tasks := p.N * p.G * blocks
	bufs := workerBufs[T](ws, ws.fanout(tasks), rows*cc)
	ws.run(tasks, func(worker, task int) {
		n, g, c0 := task/blocks/p.G, task/blocks%p.G, task%blocks*cc
		c1 := min(c0+cc, ldy)
		yg := y[(n*p.O+g*pl.og)*ldy:]
		var beta T
		if bias != nil {
			for o := 0; o < pl.og; o++ {
				fill(yg[o*ldy+c0:][:c1-c0], bias[g*pl.og+o])
			}
			beta = 1
		}
		b, ldb := pl.fwd.matrix(x[(n*p.C+g*pl.cg)*ldx:], bufs[worker], c0, c1)
		gemm(false, false, pl.og, c1-c0, pl.r, 1, w[g*pl.og*pl.r:], pl.r, b, ldb, beta, yg[c0:], ldy)
	})
	return nil
}

// Conv3dBackwardData computes dx, the gradient of the loss with respect to x, from dy, the gradient
// with respect to y. dx is overwritten.
// Shapes: w [O, C/G, KT, KH, KW], dy [N, O, To, Ho, Wo], dx [N, C, T, H, W].
func Conv3dBackwardData[T Float](p Conv3d, ws *Workspace, w, dy, dx []T) error {
	const kernel = "conv3d backward data"
	if err := checkWS(kernel, ws); err != nil {
		return err
	}
	pl, err := planConv[T](p, kernel, ws)
	if err != nil {
		return err
	}
	if err := pl.check(kernel, dx, w, dy, "dx", "w", "dy"); err != nil {
		return err
	}
	ldx, ldy := p.T*pl.hw, pl.to*pl.howo
	switch pl.dataRoute {
	case routeDirect:
		cc, blocks := pl.blocking(p.N*p.G, ldx, 0)
		ws.run(p.N*p.G*blocks, func(_, task int) {
			n, g, c0 := task/blocks/p.G, task/blocks%p.G, task%blocks*cc
			c1 := min(c0+cc, ldx)
			gemm(true, false, pl.cg, c1-c0, pl.og, 1, w[g*pl.og*pl.r:], pl.r, dy[(n*p.O+g*pl.og)*ldy+c0:], ldy, 0, dx[(n*p.C+g*pl.cg)*ldx+c0:], ldx)
		})
	case routeTransposed:
		wt := pl.transposeWeights(ws, w)
		wc := &pl.wideT
		cc, parts := pl.wideBlocking(p.N*p.G*p.T, wc.cols(), wc.rows())
		tasks := p.N * p.G * p.T * parts
		bufs := workerBufs[T](ws, ws.fanout(tasks), wc.padLen()+(wc.rows()+pl.cg)*cc)
		ws.run(tasks, func(worker, task int) {
			ngs, part := task/parts, task%parts
			n, g, s := ngs/p.T/p.G, ngs/p.T%p.G, ngs%p.T
			buf := bufs[worker]
			pad, col, cm := buf[:wc.padLen()], buf[wc.padLen():][:wc.rows()*cc], buf[wc.padLen()+wc.rows()*cc:]
			src := dy[(n*p.O+g*pl.og)*ldy:]
			if wc.padded() {
				wc.padFrames(src, pad, s)
				src = pad
			}
			pa, pb := partRange(wc.cols(), cc, parts, part)
			for a := pa; a < pb; a += cc {
				b := min(a+cc, pb)
				wc.gather(src, col, b-a, s, a, b)
				gemm(false, false, pl.cg, b-a, pl.rt, 1, wt[g*pl.cg*pl.rt:], pl.rt, col, b-a, 0, cm, b-a)
				wc.compact(cm, b-a, pl.cg, dx[(n*p.C+g*pl.cg)*ldx:], ldx, s, a, b, nil)
			}
		})
	case routeScatter:
		// col2im of neighbouring columns adds into the same input pixels, so a task owns all
		// the frames its columns touch: one frame when KT = 1, else the whole sequence.
		frames := 1
		if p.KT == 1 {
			frames = p.T
		}
		cc := max(1, pl.budget/pl.r)
		tasks := p.N * p.G * frames
		bufs := workerBufs[T](ws, ws.fanout(tasks), pl.r*cc)
		ws.run(tasks, func(worker, task int) {
			n, g, t := task/frames/p.G, task/frames%p.G, task%frames
			a0, a1 := 0, ldy
			if frames > 1 {
				a0, a1 = t*pl.howo, (t+1)*pl.howo
			}
			pl.scatterTask(w, dy, dx, bufs[worker], cc, n, g, a0, a1)
		})
	}
	return nil
}

// scatterTask computes the contribution of output columns [a0, a1) of group g of batch item n
// to dx by dcol = W_gᵀ·dy and col2im, in blocks of cc columns. It first zeroes the frames of dx
// those columns touch, which the caller guarantees no other task touches.
func (pl *convPlan[T]) scatterTask(w, dy, dx, col []T, cc, n, g, a0, a1 int) {
	ldx, ldy := pl.T*pl.hw, pl.to*pl.howo
	dxg := dx[(n*pl.C+g*pl.cg)*ldx:]
	dyg := dy[(n*pl.O+g*pl.og)*ldy:]
	for c := 0; c < pl.cg; c++ {
		if pl.KT == 1 {
			// With KT = 1, output frame t (columns from a0) reads input frame t only.
			clear(dxg[c*ldx+a0/pl.howo*pl.hw:][:pl.hw])
		} else {
			clear(dxg[c*ldx:][:ldx])
		}
	}
	for a := a0; a < a1; a += cc {
		b := min(a+cc, a1)
		gemm(true, false, pl.r, b-a, pl.og, 1, w[g*pl.og*pl.r:], pl.r, dyg[a:], ldy, 0, col, b-a)
		pl.fwd.scatter(col, dxg, b-a, a, b)
	}
}

// transposeWeights returns W̃ in ws's shared scratch: for each group the C/G × O/G·KT·KH·KW
// matrix W̃_g[c, (o, k, i, j)] = W[g·O/G + o, c, KT−1−k, KH−1−i, KW−1−j], the weights of the
// transposed convolution.
func (pl *convPlan[T]) transposeWeights(ws *Workspace, w []T) []T {
	wt := sharedBuf[T](ws, len(w))
	kk := pl.KT * pl.KH * pl.KW
	for g := 0; g < pl.G; g++ {
		for o := 0; o < pl.og; o++ {
			for c := 0; c < pl.cg; c++ {
				src := w[((g*pl.og+o)*pl.cg+c)*kk:][:kk]
				dst := wt[(g*pl.cg+c)*pl.rt+o*kk:][:kk]
				for q, v := range src {
					dst[kk-1-q] = v // reversing (k, i, j) flips all three axes at once
				}
			}
		}
	}
	return wt
}

// Conv3dBackwardWeights computes dw and dbias, the gradients of the loss with respect to w and bias,
// from x and dy. Both are overwritten; dbias may be nil when the convolution has no bias.
// Shapes: x [N, C, T, H, W], dy [N, O, To, Ho, Wo], dw [O, C/G, KT, KH, KW], dbias [O].
func Conv3dBackwardWeights[T Float](p Conv3d, ws *Workspace, x, dy, dw, dbias []T) error {
	const kernel = "conv3d backward weights"
	if err := checkWS(kernel, ws); err != nil {
		return err
	}
	pl, err := planConv[T](p, kernel, ws)
	if err != nil {
		return err
	}
	if err := pl.check(kernel, x, dw, dy, "x", "dw", "dy"); err != nil {
		return err
	}
	if dbias != nil {
		if err := checkLen(kernel, "dbias", len(dbias), p.O); err != nil {
			return err
		}
	}
	ldx, ldy := p.T*pl.hw, pl.to*pl.howo
	wl := len(dw)
	// Each worker accumulates a partial dw at the start of its buffer; they are added at the end.
	// runStatic: a fixed set of tasks per partial, so the sum is the same on every call.
	var bufs [][]T
	if pl.fwdRoute == routeWide {
		wc := &pl.wide
		cc, parts := pl.wideBlocking(p.N*p.G*pl.to, wc.cols(), wc.rows())
		tasks := p.N * p.G * pl.to * parts
		bufs = workerBufs[T](ws, ws.fanout(tasks), wl+wc.padLen()+(wc.rows()+pl.og)*cc)
		for _, b := range bufs {
			clear(b[:wl])
		}
		ws.runStatic(tasks, func(worker, task int) {
			ngt, part := task/parts, task%parts
			n, g, t := ngt/pl.to/p.G, ngt/pl.to%p.G, ngt%pl.to
			buf := bufs[worker]
			dwp := buf[:wl]
			pad := buf[wl:][:wc.padLen()]
			col := buf[wl+wc.padLen():][:wc.rows()*cc]
			am := buf[wl+wc.padLen()+wc.rows()*cc:]
			src := x[(n*p.C+g*pl.cg)*ldx:]
			if wc.padded() {
				wc.padFrames(src, pad, t)
				src = pad
			}
			pa, pb := partRange(wc.cols(), cc, parts, part)
			for a := pa; a < pb; a += cc {
				b := min(a+cc, pb)
				wc.gather(src, col, b-a, t, a, b)
				wc.expand(dy[(n*p.O+g*pl.og)*ldy:], ldy, pl.og, am, b-a, t, a, b)
				gemm(false, true, pl.og, pl.r, b-a, 1, am, b-a, col, b-a, 1, dwp[g*pl.og*pl.r:], pl.r)
			}
		})
	} else {
		rows := pl.r
		if pl.fwdRoute == routeDirect {
			rows = 0
		}
		cc, blocks := pl.blocking(p.N*p.G, ldy, rows)
		tasks := p.N * p.G * blocks
		bufs = workerBufs[T](ws, ws.fanout(tasks), wl+rows*cc)
		for _, b := range bufs {
			clear(b[:wl])
		}
		ws.runStatic(tasks, func(worker, task int) {
			n, g, c0 := task/blocks/p.G, task/blocks%p.G, task%blocks*cc
			c1 := min(c0+cc, ldy)
			buf := bufs[worker]
			b, ldb := pl.fwd.matrix(x[(n*p.C+g*pl.cg)*ldx:], buf[wl:], c0, c1)
			gemm(false, true, pl.og, pl.r, c1-c0, 1, dy[(n*p.O+g*pl.og)*ldy+c0:], ldy, b, ldb, 1, buf[g*pl.og*pl.r:], pl.r)
		})
	}
	ws.run(p.O, func(_, o int) {
		row := dw[o*pl.r:][:pl.r]
		copy(row, bufs[0][o*pl.r:][:pl.r])
		for _, b := range bufs[1:] {
			addTo(row, b[o*pl.r:][:pl.r])
		}
		if dbias != nil {
			var s float64
			for n := 0; n < p.N; n++ {
				s += sum64(dy[(n*p.O+o)*ldy:][:ldy])
			}
			dbias[o] = T(s)
		}
	})
	return nil
}

// Conv3dBackwardBias computes dbias, the gradient of the loss with respect to the bias: dy
// summed over batch items and output positions, accumulated in float64 (overwritten). It is
// the dbias of Conv3dBackwardWeights on its own, for callers that keep the two gradients apart.
// Shapes: dy [N, O, To, Ho, Wo], dbias [O].
func Conv3dBackwardBias[T Float](p Conv3d, dy, dbias []T) error {
	const kernel = "conv3d backward bias"
	if err := p.validate(kernel); err != nil {
		return err
	}
	_, _, yl := p.Lens()
	if err := checkLen(kernel, "dy", len(dy), yl); err != nil {
		return err
	}
	if err := checkLen(kernel, "dbias", len(dbias), p.O); err != nil {
		return err
	}
	ldy := yl / (p.N * p.O)
	for o := range dbias {
		var s float64
		for n := 0; n < p.N; n++ {
			s += sum64(dy[(n*p.O+o)*ldy:][:ldy])
		}
		dbias[o] = T(s)
	}
	return nil
}

// matrix returns the unfolded columns [c0, c1) of the block src as a gemm operand and its
// row stride: src itself when the unfolding is the identity, else the columns gathered into
// col.
func (u *unfold[T]) matrix(src, col []T, c0, c1 int) ([]T, int) {
	if u.identity() {
		return src[c0:], u.ts * u.hs * u.ws
	}
	u.gather(src, col, c1-c0, c0, c1)
	return col, c1 - c0
}

// sum64 returns the sum of x accumulated in float64.
func sum64[T Float](x []T) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s
}
