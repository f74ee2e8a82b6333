package kernels

import "math"

// Attention describes the cosine attention of the CvT-LSTM core (MODEL.md 4.4 step 5), run
// separately for every batch item and group over L tokens (the 16×24 = 384 positions) of C
// channels (64 per group):
//
//	q, k, v  [N, G, C, L]
//	scales   [G, C]
//	out      [N, G, C, L]
//
//	q̂[c, l] = q[c, l]/‖q[:, l]‖ · s[c],   k̂[c, l] = k[c, l]/‖k[:, l]‖   (norms over C)
//	w[i, d] = Σ_c q̂[c, i]·k̂[c, d],        a = softmax over d of w
//	out[c, i] = Σ_d v[c, d]·a[i, d]
//
// The reference adds no ε to the norms, so a token whose q or k vector is exactly zero would
// give NaN there. Here such a token's unit vector is taken to be zero instead (its logits are
// 0, so a zero query attends uniformly), and no gradient flows back through its normalisation.
// Norms are accumulated in float64, so no finite float32 vector underflows to a zero norm.
//
// The products with an L×L operand run on gemm (two forward; five backward, which recomputes
// the logits rather than keeping N·G·L² softmax weights per step); the softmax uses expCore.
// Work is fanned out over the N·G (item, group) pairs, each worker holding about
// 2·L² + 5·C·L floats of scratch.
type Attention struct {
	N, G, C, L int
}

// Validate reports whether the sizes are usable.
func (a Attention) Validate() error {
	return checkPositive("attention", "N, G, C, L", a.N, a.G, a.C, a.L)
}

// check validates ws, the sizes and the lengths of the named slices.
func checkAttention[T Float](a Attention, kernel string, ws *Workspace, scales []T, tensors ...named[T]) error {
	if err := checkWS(kernel, ws); err != nil {
		return err
	}
	if err := checkPositive(kernel, "N, G, C, L", a.N, a.G, a.C, a.L); err != nil {
		return err
	}
	if err := checkLen(kernel, "scales", len(scales), a.G*a.C); err != nil {
		return err
	}
	for _, t := range tensors {
		if err := checkLen(kernel, t.name, len(t.s), a.N*a.G*a.C*a.L); err != nil {
			return err
		}
	}
	return nil
}

// attnScratch is one worker's scratch for one (item, group) pair.
type attnScratch[T Float] struct {
	qh, qn, kn []T // q̂ before the scales, q̂·s, k̂: [C, L]
	dqn, dkn   []T // their gradients: [C, L]
	p, dp      []T // softmax weights (or their exponentials) and gradient: [L, L]
	invq, invk []T // 1/‖q[:, l]‖, 1/‖k[:, l]‖ (0 for a zero vector): [L]
	rinv       []T // the softmax normalisers 1/Σ_d e^{w[i, d] − max}: [L]
	dscale     []T // this worker's partial dscales: [G, C]
}

// attnScratchOf carves a worker buffer into an attnScratch.
func attnScratchOf[T Float](a Attention, buf []T) attnScratch[T] {
	cl, ll := a.C*a.L, a.L*a.L
	take := func(n int) []T {
		s := buf[:n:n]
		buf = buf[n:]
		return s
	}
	return attnScratch[T]{
		qh: take(cl), qn: take(cl), kn: take(cl), dqn: take(cl), dkn: take(cl),
		p: take(ll), dp: take(ll), invq: take(a.L), invk: take(a.L), rinv: take(a.L), dscale: take(a.G * a.C),
	}
}

// scratchLen returns the length of one worker buffer.
func (a Attention) scratchLen() int { return 5*a.C*a.L + 2*a.L*a.L + 3*a.L + a.G*a.C }

// AttentionForward computes out (overwritten).
// Shapes: q, k, v, out [N, G, C, L]; scales [G, C].
func AttentionForward[T Float](a Attention, ws *Workspace, q, k, v, scales, out []T) error {
	const kernel = "attention forward"
	if err := checkAttention(a, kernel, ws, scales, named[T]{"q", q}, named[T]{"k", k}, named[T]{"v", v}, named[T]{"out", out}); err != nil {
		return err
	}
	tasks := a.N * a.G
	bufs := workerBufs[T](ws, ws.fanout(tasks), a.scratchLen())
	cl := a.C * a.L
	ws.run(tasks, func(worker, task int) {
		s := attnScratchOf(a, bufs[worker])
		g := task % a.G
		attnWeights(a, s, q[task*cl:][:cl], k[task*cl:][:cl], scales[g*a.C:][:a.C], false)
		// out[c, i] = Σ_d v[c, d]·p[i, d], with the softmax normalisation applied to the C×L
		// result rather than to the L×L weights.
		o := out[task*cl:][:cl]
		gemm(false, true, a.C, a.L, a.L, 1, v[task*cl:], a.L, s.p, a.L, 0, o, a.L)
		for c := 0; c < a.C; c++ {
			row := o[c*a.L:][:a.L]
			for i := range row {
				row[i] *= s.rinv[i]
			}
		}
	})
	return nil
}

// AttentionBackward computes dq, dk, dv and dscales (all overwritten) from dout, the gradient of the
// loss with respect to out. It recomputes the softmax weights from q and k.
// Shapes: q, k, v, dout, dq, dk, dv [N, G, C, L]; scales, dscales [G, C].
func AttentionBackward[T Float](a Attention, ws *Workspace, q, k, v, scales, dout, dq, dk, dv, dscales []T) error {
	const kernel = "attention backward"
	if err := checkAttention(a, kernel, ws, scales, named[T]{"q", q}, named[T]{"k", k}, named[T]{"v", v}, named[T]{"dout", dout},
		named[T]{"dq", dq}, named[T]{"dk", dk}, named[T]{"dv", dv}); err != nil {
		return err
	}
	if err := checkLen(kernel, "dscales", len(dscales), a.G*a.C); err != nil {
		return err
	}
	tasks := a.N * a.G
	bufs := workerBufs[T](ws, ws.fanout(tasks), a.scratchLen())
	for _, b := range bufs {
		clear(attnScratchOf(a, b).dscale)
	}
	cl, L := a.C*a.L, a.L
	ws.runStatic(tasks, func(worker, task int) { // per-worker partial dscales
		s := attnScratchOf(a, bufs[worker])
		g := task % a.G
		sc := scales[g*a.C:][:a.C]
		attnWeights(a, s, q[task*cl:][:cl], k[task*cl:][:cl], sc, true)
		da, vv := dout[task*cl:], v[task*cl:]
		// dv[c, d] = Σ_i da[c, i]·p[i, d];  dp[i, d] = Σ_c da[c, i]·v[c, d]
		gemm(false, false, a.C, L, L, 1, da, L, s.p, L, 0, dv[task*cl:], L)
		gemm(true, false, L, L, a.C, 1, da, L, vv, L, 0, s.dp, L)
		// Softmax backward in place: dw[i, d] = p[i, d]·(dp[i, d] − Σ_d' p[i, d']·dp[i, d']).
		for i := 0; i < L; i++ {
			pr, dr := s.p[i*L:][:L], s.dp[i*L:][:L]
			var dot float64
			for d, pv := range pr {
				dot += float64(pv) * float64(dr[d])
			}
			df := T(dot)
			for d, pv := range pr {
				dr[d] = pv * (dr[d] - df)
			}
		}
		// dq̂s[c, i] = Σ_d k̂[c, d]·dw[i, d];  dk̂[c, d] = Σ_i q̂s[c, i]·dw[i, d]
		gemm(false, true, a.C, L, L, 1, s.kn, L, s.dp, L, 0, s.dqn, L)
		gemm(false, false, a.C, L, L, 1, s.qn, L, s.dp, L, 0, s.dkn, L)
		// Through the scales: ds[c] += Σ_i dq̂s[c, i]·q̂[c, i], dq̂ = dq̂s·s.
		for c := 0; c < a.C; c++ {
			row, qh := s.dqn[c*L:][:L], s.qh[c*L:][:L]
			var ds float64
			for i, d := range row {
				ds += float64(d) * float64(qh[i])
			}
			s.dscale[g*a.C+c] += T(ds)
			for i := range row {
				row[i] *= sc[c]
			}
		}
		unitBackward(s.qh, s.dqn, s.invq, dq[task*cl:][:cl], a.C, L)
		unitBackward(s.kn, s.dkn, s.invk, dk[task*cl:][:cl], a.C, L)
	})
	copy(dscales, attnScratchOf(a, bufs[0]).dscale)
	for _, b := range bufs[1:] {
		addTo(dscales, attnScratchOf(a, b).dscale)
	}
	return nil
}

// weights fills s.qh, s.qn, s.kn, s.invq, s.invk, and in s.p the exponentials
// e^{w[i,d] − max_d w[i,d]} of the logits with their row normalisers in s.rinv; with normalize
// set, s.p is scaled to the softmax weights themselves.
func attnWeights[T Float](a Attention, s attnScratch[T], q, k, scales []T, normalize bool) {
	L := a.L
	unitColumns(q, s.qh, s.invq, a.C, L)
	unitColumns(k, s.kn, s.invk, a.C, L)
	for c := 0; c < a.C; c++ {
		src, dst := s.qh[c*L:][:L], s.qn[c*L:][:L]
		for i, x := range src {
			dst[i] = x * scales[c]
		}
	}
	// w[i, d] = Σ_c q̂s[c, i]·k̂[c, d]
	gemm(true, false, L, L, a.C, 1, s.qn, L, s.kn, L, 0, s.p, L)
	for i := 0; i < L; i++ {
		row := s.p[i*L:][:L]
		s.rinv[i] = softmaxRow(row)
		if normalize {
			for d := range row {
				row[d] *= s.rinv[i]
			}
		}
	}
}

// softmaxRow replaces row by e^{x − max(row)} and returns 1/Σ of the new values. The loops
// carry four independent accumulators so that they run at throughput, not at the latency of
// one add chain, and the exponential is inlined. A NaN logit makes the whole row NaN. float64
// rows use the exact exponential (softmaxRowExact).
func softmaxRow[T Float](row []T) T {
	m := row[0]
	for _, x := range row[1:] {
		if x > m {
			m = x
		}
	}
	if m != m || math.IsInf(float64(m), 0) {
		m = 0 // a NaN or infinite logit: let the NaN propagate through the exponentials
	}
	mf := float64(m)
	if isDouble[T]() {
		return softmaxRowExact(row, mf)
	}
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(row); i += 4 {
		r := row[i : i+4 : i+4]
		e0 := expCore(max(-700, float64(r[0])-mf))
		e1 := expCore(max(-700, float64(r[1])-mf))
		e2 := expCore(max(-700, float64(r[2])-mf))
		e3 := expCore(max(-700, float64(r[3])-mf))
		r[0], r[1], r[2], r[3] = T(e0), T(e1), T(e2), T(e3)
		s0 += e0
		s1 += e1
		s2 += e2
		s3 += e3
	}
	for ; i < len(row); i++ {
		e := expCore(max(-700, float64(row[i])-mf))
		row[i] = T(e)
		s0 += e
	}
	return T(1 / (s0 + s1 + s2 + s3))
}

// softmaxRowExact is softmaxRow for float64, with the math package's exponential (see
// isDouble); m is the row maximum.
func softmaxRowExact[T Float](row []T, m float64) T {
	var s float64
	for i, x := range row {
		e := math.Exp(float64(x) - m)
		row[i] = T(e)
		s += e
	}
	return T(1 / s)
}

// unitColumns writes x[:, l]/‖x[:, l]‖ into u and the inverse norms into inv, for the C×L
// matrix x; a zero column gives a zero unit vector and inv 0. The sums of squares run token by
// token in float64 (the C×L block is in L2, so the strided reads are cheap).
func unitColumns[T Float](x, u, inv []T, C, L int) {
	for l := range inv {
		var ss float64
		for c := 0; c < C; c++ {
			v := float64(x[c*L+l])
			ss += v * v
		}
		if ss > 0 {
			inv[l] = T(1 / math.Sqrt(ss))
		} else {
			inv[l] = 0
		}
	}
	for c := 0; c < C; c++ {
		src, dst := x[c*L:][:L], u[c*L:][:L]
		for l, v := range src {
			dst[l] = v * inv[l]
		}
	}
}

// unitBackward writes dx for u = x/‖x‖ column by column: dx = (du − u·(u·du))·inv, with u and
// du C×L and inv the inverse norms (0 for zero columns, which therefore get no gradient).
func unitBackward[T Float](u, du, inv, dx []T, C, L int) {
	for l := 0; l < L; l++ {
		var dot float64
		for c := 0; c < C; c++ {
			dot += float64(u[c*L+l]) * float64(du[c*L+l])
		}
		d := T(dot)
		for c := 0; c < C; c++ {
			dx[c*L+l] = (du[c*L+l] - u[c*L+l]*d) * inv[l]
		}
	}
}
