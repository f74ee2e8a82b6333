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
// The products with an L×L operand run on sgemm (two forward; five backward, which recomputes
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
func (a Attention) check(kernel string, ws *Workspace, scales []float32, tensors ...named) error {
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
type attnScratch struct {
	qh, qn, kn []float32 // q̂ before the scales, q̂·s, k̂: [C, L]
	dqn, dkn   []float32 // their gradients: [C, L]
	p, dp      []float32 // softmax weights (or their exponentials) and gradient: [L, L]
	invq, invk []float32 // 1/‖q[:, l]‖, 1/‖k[:, l]‖ (0 for a zero vector): [L]
	rinv       []float32 // the softmax normalisers 1/Σ_d e^{w[i, d] − max}: [L]
	dscale     []float32 // this worker's partial dscales: [G, C]
}

// scratch carves a worker buffer into an attnScratch.
func (a Attention) scratch(buf []float32) attnScratch {
	cl, ll := a.C*a.L, a.L*a.L
	take := func(n int) []float32 {
		s := buf[:n:n]
		buf = buf[n:]
		return s
	}
	return attnScratch{
		qh: take(cl), qn: take(cl), kn: take(cl), dqn: take(cl), dkn: take(cl),
		p: take(ll), dp: take(ll), invq: take(a.L), invk: take(a.L), rinv: take(a.L), dscale: take(a.G * a.C),
	}
}

// scratchLen returns the length of one worker buffer.
func (a Attention) scratchLen() int { return 5*a.C*a.L + 2*a.L*a.L + 3*a.L + a.G*a.C }

// Forward computes out (overwritten).
// Shapes: q, k, v, out [N, G, C, L]; scales [G, C].
func (a Attention) Forward(ws *Workspace, q, k, v, scales, out []float32) error {
	const kernel = "attention forward"
	if err := a.check(kernel, ws, scales, named{"q", q}, named{"k", k}, named{"v", v}, named{"out", out}); err != nil {
		return err
	}
	tasks := a.N * a.G
	bufs := ws.workerBufs(ws.fanout(tasks), a.scratchLen())
	cl := a.C * a.L
	ws.run(tasks, func(worker, task int) {
		s := a.scratch(bufs[worker])
		g := task % a.G
		a.weights(s, q[task*cl:][:cl], k[task*cl:][:cl], scales[g*a.C:][:a.C], false)
		// out[c, i] = Σ_d v[c, d]·p[i, d], with the softmax normalisation applied to the C×L
		// result rather than to the L×L weights.
		o := out[task*cl:][:cl]
		sgemm(false, true, a.C, a.L, a.L, 1, v[task*cl:], a.L, s.p, a.L, 0, o, a.L)
		for c := 0; c < a.C; c++ {
			row := o[c*a.L:][:a.L]
			for i := range row {
				row[i] *= s.rinv[i]
			}
		}
	})
	return nil
}

// Backward computes dq, dk, dv and dscales (all overwritten) from dout, the gradient of the
// loss with respect to out. It recomputes the softmax weights from q and k.
// Shapes: q, k, v, dout, dq, dk, dv [N, G, C, L]; scales, dscales [G, C].
func (a Attention) Backward(ws *Workspace, q, k, v, scales, dout, dq, dk, dv, dscales []float32) error {
	const kernel = "attention backward"
	if err := a.check(kernel, ws, scales, named{"q", q}, named{"k", k}, named{"v", v}, named{"dout", dout},
		named{"dq", dq}, named{"dk", dk}, named{"dv", dv}); err != nil {
		return err
	}
	if err := checkLen(kernel, "dscales", len(dscales), a.G*a.C); err != nil {
		return err
	}
	tasks := a.N * a.G
	bufs := ws.workerBufs(ws.fanout(tasks), a.scratchLen())
	for _, b := range bufs {
		clear(a.scratch(b).dscale)
	}
	cl, L := a.C*a.L, a.L
	ws.run(tasks, func(worker, task int) {
		s := a.scratch(bufs[worker])
		g := task % a.G
		sc := scales[g*a.C:][:a.C]
		a.weights(s, q[task*cl:][:cl], k[task*cl:][:cl], sc, true)
		da, vv := dout[task*cl:], v[task*cl:]
		// dv[c, d] = Σ_i da[c, i]·p[i, d];  dp[i, d] = Σ_c da[c, i]·v[c, d]
		sgemm(false, false, a.C, L, L, 1, da, L, s.p, L, 0, dv[task*cl:], L)
		sgemm(true, false, L, L, a.C, 1, da, L, vv, L, 0, s.dp, L)
		// Softmax backward in place: dw[i, d] = p[i, d]·(dp[i, d] − Σ_d' p[i, d']·dp[i, d']).
		for i := 0; i < L; i++ {
			pr, dr := s.p[i*L:][:L], s.dp[i*L:][:L]
			var dot float64
			for d, pv := range pr {
				dot += float64(pv) * float64(dr[d])
			}
			df := float32(dot)
			for d, pv := range pr {
				dr[d] = pv * (dr[d] - df)
			}
		}
		// dq̂s[c, i] = Σ_d k̂[c, d]·dw[i, d];  dk̂[c, d] = Σ_i q̂s[c, i]·dw[i, d]
		sgemm(false, true, a.C, L, L, 1, s.kn, L, s.dp, L, 0, s.dqn, L)
		sgemm(false, false, a.C, L, L, 1, s.qn, L, s.dp, L, 0, s.dkn, L)
		// Through the scales: ds[c] += Σ_i dq̂s[c, i]·q̂[c, i], dq̂ = dq̂s·s.
		for c := 0; c < a.C; c++ {
			row, qh := s.dqn[c*L:][:L], s.qh[c*L:][:L]
			var ds float64
			for i, d := range row {
				ds += float64(d) * float64(qh[i])
			}
			s.dscale[g*a.C+c] += float32(ds)
			for i := range row {
				row[i] *= sc[c]
			}
		}
		unitBackward(s.qh, s.dqn, s.invq, dq[task*cl:][:cl], a.C, L)
		unitBackward(s.kn, s.dkn, s.invk, dk[task*cl:][:cl], a.C, L)
	})
	copy(dscales, a.scratch(bufs[0]).dscale)
	for _, b := range bufs[1:] {
		addTo(dscales, a.scratch(b).dscale)
	}
	return nil
}

// weights fills s.qh, s.qn, s.kn, s.invq, s.invk, and in s.p the exponentials
// e^{w[i,d] − max_d w[i,d]} of the logits with their row normalisers in s.rinv; with normalize
// set, s.p is scaled to the softmax weights themselves.
func (a Attention) weights(s attnScratch, q, k, scales []float32, normalize bool) {
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
	sgemm(true, false, L, L, a.C, 1, s.qn, L, s.kn, L, 0, s.p, L)
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
// one add chain, and the exponential is inlined. A NaN logit makes the whole row NaN.
func softmaxRow(row []float32) float32 {
	m := row[0]
	for _, x := range row[1:] {
		if x > m {
			m = x
		}
	}
	if m != m || math.IsInf(float64(m), 0) {
		m = 0 // a NaN or infinite logit: let the NaN propagate through the exponentials
	}
	var s0, s1, s2, s3 float64
	mf := float64(m)
	i := 0
	for ; i+4 <= len(row); i += 4 {
		r := row[i : i+4 : i+4]
		e0 := expCore(max(-700, float64(r[0])-mf))
		e1 := expCore(max(-700, float64(r[1])-mf))
		e2 := expCore(max(-700, float64(r[2])-mf))
		e3 := expCore(max(-700, float64(r[3])-mf))
		r[0], r[1], r[2], r[3] = float32(e0), float32(e1), float32(e2), float32(e3)
		s0 += e0
		s1 += e1
		s2 += e2
		s3 += e3
	}
	for ; i < len(row); i++ {
		e := expCore(max(-700, float64(row[i])-mf))
		row[i] = float32(e)
		s0 += e
	}
	return float32(1 / (s0 + s1 + s2 + s3))
}

// unitColumns writes x[:, l]/‖x[:, l]‖ into u and the inverse norms into inv, for the C×L
// matrix x; a zero column gives a zero unit vector and inv 0. The sums of squares run token by
// token in float64 (the C×L block is in L2, so the strided reads are cheap).
func unitColumns(x, u, inv []float32, C, L int) {
	for l := range inv {
		var ss float64
		for c := 0; c < C; c++ {
			v := float64(x[c*L+l])
			ss += v * v
		}
		if ss > 0 {
			inv[l] = float32(1 / math.Sqrt(ss))
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
func unitBackward(u, du, inv, dx []float32, C, L int) {
	for l := 0; l < L; l++ {
		var dot float64
		for c := 0; c < C; c++ {
			dot += float64(u[c*L+l]) * float64(du[c*L+l])
		}
		d := float32(dot)
		for c := 0; c < C; c++ {
			dx[c*L+l] = (du[c*L+l] - u[c*L+l]*d) * inv[l]
		}
	}
}
