package nn_test

import (
	"strings"
	"testing"

	"github.com/fmcore/fmcore/model/modeltest"
	"github.com/fmcore/fmcore/model/nn"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// recurrence is the recurrent core's use of Split in miniature: the frames of x [N, C, T, P]
// drive h_t = tanh(x_t + w ⊙ h_{t−1}) and the output joins every h_t. Frames listed in skip are
// not read.
func recurrence(b *nn.Builder, x, w *G.Node, skip map[int]bool) *G.Node {
	frames := b.Split(x, 2)
	var h *G.Node
	var hs []*G.Node
	for t, f := range frames {
		if skip[t] {
			continue
		}
		if h != nil {
			f = b.Add(f, b.Mul(w, h))
		}
		h = b.Tanh(f)
		hs = append(hs, h)
	}
	return b.Concat(2, hs...)
}

// TestSplitGradients checks Split's gradients against finite differences, with every frame read
// and with frames nobody reads (which get a zero gradient block), and on the first axis.
func TestSplitGradients(t *testing.T) {
	cases := []struct {
		name  string
		build modeltest.BuildFunc
	}{
		{"every-frame", func(b *nn.Builder, in []*G.Node) *G.Node { return recurrence(b, in[0], in[1], nil) }},
		{"first-and-last-unread", func(b *nn.Builder, in []*G.Node) *G.Node {
			return recurrence(b, in[0], in[1], map[int]bool{0: true, 4: true})
		}},
		{"axis-0", func(b *nn.Builder, in []*G.Node) *G.Node {
			p := b.Split(b.Reshape(in[0], 5, 2, 3, 2), 0)
			return b.Concat(0, b.Mul(p[4], p[0]), p[2], b.Exp(p[1]), b.Mul(p[3], b.Reshape(in[1], 1, 2, 3, 2)))
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := modeltest.GradCheck(t, c.build, []modeltest.GradInput{x("x", 2, 3, 5, 2), x("w", 2, 3, 1, 2)}, uint64(200+i))
			if rep.MaxGrad["x"] < 0.05 {
				t.Errorf("largest gradient of x %.3g: the check says nothing", rep.MaxGrad["x"])
			}
		})
	}
}

// TestSplitBackwardIsLinear checks the point of Split: the gradient of x is one concatenation of
// the pieces' gradients, with no addition and no copy of x's full size in the backward graph
// (T Slices would build T zero-padded copies and T − 1 additions).
func TestSplitBackwardIsLinear(t *testing.T) {
	const T = 12
	shape := []int{2, 3, T, 4}
	for _, useSplit := range []bool{true, false} {
		g := G.NewGraph()
		b := nn.NewBuilder(g, nil)
		xn := G.NewTensor(g, G.Float32, 4, G.WithShape(shape...), G.WithName("x"),
			G.WithValue(tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...))))
		w := G.NewTensor(g, G.Float32, 4, G.WithShape(2, 3, 1, 4), G.WithName("w"),
			G.WithValue(tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(2, 3, 1, 4))))
		var y *G.Node
		if useSplit {
			y = recurrence(b, xn, w, nil)
		} else {
			frames := make([]*G.Node, T)
			for i := range frames {
				frames[i] = b.Tanh(b.Slice(xn, 2, i, i+1))
			}
			y = b.Concat(2, frames...)
		}
		loss := b.Sum(y)
		if err := b.Err(); err != nil {
			t.Fatal(err)
		}
		wrt := []*G.Node{xn}
		if useSplit {
			wrt = append(wrt, w)
		}
		grads, err := G.Grad(loss, wrt...)
		if err != nil {
			t.Fatal(err)
		}
		full := 0 // additions and copies of x's size
		for _, n := range g.AllNodes() {
			s := n.Op()
			if s == nil || n.Shape().TotalSize() != tensor.Shape(shape).TotalSize() {
				continue
			}
			if name := s.String(); strings.HasPrefix(name, "add") || strings.HasPrefix(name, "+") || strings.HasPrefix(name, "copy") {
				full++
			}
		}
		switch {
		case useSplit && full != 0:
			t.Errorf("Split: %d full-size additions or copies in the graph, want 0", full)
		case useSplit && !strings.HasPrefix(grads[0].Op().String(), "concat"):
			t.Errorf("Split: the gradient of x is %v, want one concatenation", grads[0].Op())
		case !useSplit && full < T:
			// The control: T Slices do cost T full-size terms, so the check above can fail.
			t.Errorf("Slices: %d full-size additions or copies, expected at least %d", full, T)
		}
	}
}

// TestSplitErrors checks the builder error for an axis out of range.
func TestSplitErrors(t *testing.T) {
	g := G.NewGraph()
	b := nn.NewBuilder(g, nil)
	if out := b.Split(node(g, "x", 1, 2, 3), 2); out != nil || b.Err() == nil || !strings.Contains(b.Err().Error(), "split(x [2 3] float64)") {
		t.Fatalf("Split on axis 2 of a rank-2 tensor: pieces %v, error %v", out, b.Err())
	}
}
