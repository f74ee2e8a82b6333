package model

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/fmcore/fmcore/model/nn"
)

// graph is what the unrolled Window and the streaming Stepper share: a gorgonia graph of
// one session's network for one stream, with one slot per stream-agnostic parameter
// into which a run copies the chosen stream's values (MODEL.md 1.3).
type graph struct {
	net   *Network
	sess  *Session
	dt    tensor.Dtype
	g     *G.ExprGraph
	slots *nn.Params
	learn []*G.Node // slot nodes in a fixed order
	names []string  // slot name of each learnable
}

// newGraph creates the graph and its parameter slots.
func newGraph(n *Network, sess *Session, dt tensor.Dtype) (*graph, error) {
	g := G.NewGraph()
	specs := append(append([]nn.ParamSpec{}, n.coreSpecs...), sess.specs...)
	slots, err := nn.NewSlots(g, dt, specs)
	if err != nil {
		return nil, err
	}
	gr := &graph{net: n, sess: sess, dt: dt, g: g, slots: slots}
	for _, sp := range specs {
		if sp.Stream > 0 {
			continue // one slot per stream-agnostic name
		}
		name := nn.SlotName(sp)
		gr.learn = append(gr.learn, slots.Nodes()[name])
		gr.names = append(gr.names, name)
	}
	return gr, nil
}

// input creates an input node of the graph's dtype.
func (gr *graph) input(name string, shape ...int) *G.Node {
	return G.NewTensor(gr.g, gr.dt, len(shape), G.WithShape(shape...), G.WithName(name))
}

// check reports what went wrong while building: parameters the config does not define,
// a builder error, or a hash collision (checkHashes).
func (gr *graph) check(b *nn.Builder, what string) error {
	if miss := gr.slots.Missing(); len(miss) > 0 {
		return fmt.Errorf("model: graph asks for parameters the config does not define: %v", miss)
	}
	if err := b.Err(); err != nil {
		return fmt.Errorf("model: build %s: %w", what, err)
	}
	return checkHashes(gr.g)
}

// setStream copies stream s's parameter values into the slots.
func (gr *graph) setStream(s int) error {
	for i, node := range gr.learn {
		if err := setData(node.Value().Data(), gr.net.values[fullName(gr.net, gr.sess.Key, gr.names[i], s)]); err != nil {
			return fmt.Errorf("model: parameter %s: %w", gr.names[i], err)
		}
	}
	return nil
}

// let binds float32 data to an input node.
func (gr *graph) let(node *G.Node, data []float32) error {
	if err := G.Let(node, backing(gr.dt, data, node.Shape())); err != nil {
		return fmt.Errorf("model: input %s: %w", node.Name(), err)
	}
	return nil
}

// checkHashes refuses a graph in which two distinct nodes share a hash: gorgonia's
// compiler merges nodes by their 32-bit hash alone, so such a pair would silently share
// one result.
func checkHashes(g *G.ExprGraph) error {
	seen := map[uint32]*G.Node{}
	for _, n := range g.AllNodes() {
		h := n.Hashcode()
		if m, ok := seen[h]; ok && m != n {
			return fmt.Errorf("model: graph nodes %s and %s share the hash %08x; gorgonia would merge them: build the window with another batch size or length (and report this)", m, n, h)
		}
		seen[h] = n
	}
	return nil
}

// fullName maps a slot name to the qualified name (ParamKey) of session key's parameter
// of stream s.
func fullName(n *Network, key, slot string, s int) string {
	if sp, ok := n.specs[ParamKey(key, slot)]; ok && sp.Stream < 0 {
		return ParamKey(key, slot) // shared by the streams
	}
	return ParamKey(key, nn.StreamName(slot, s))
}

// backing wraps data as a tensor of dtype dt and the given shape (converting to float64
// for float64 graphs, which the parity and gradient tests use).
func backing(dt tensor.Dtype, data []float32, shape tensor.Shape) tensor.Tensor {
	if dt == tensor.Float64 {
		v := make([]float64, len(data))
		for i, x := range data {
			v[i] = float64(x)
		}
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// setData copies float32 values into a float32 or float64 slice.
func setData(dst any, src []float32) error {
	switch d := dst.(type) {
	case []float32:
		if len(d) != len(src) {
			return fmt.Errorf("%d values for %d", len(src), len(d))
		}
		copy(d, src)
	case []float64:
		if len(d) != len(src) {
			return fmt.Errorf("%d values for %d", len(src), len(d))
		}
		for i, x := range src {
			d[i] = float64(x)
		}
	default:
		return fmt.Errorf("unsupported storage %T", dst)
	}
	return nil
}

// addInto adds a float32 or float64 gradient into dst.
func addInto(dst []float32, src any) {
	switch s := src.(type) {
	case []float32:
		for i, x := range s {
			dst[i] += x
		}
	case []float64:
		for i, x := range s {
			dst[i] += float32(x)
		}
	}
}

// toFloat32 copies a float32 or float64 tensor's data into dst (allocated when nil) and
// returns it.
func toFloat32(dst []float32, src any) []float32 {
	switch v := src.(type) {
	case []float32:
		return append(dst[:0], v...)
	case []float64:
		dst = dst[:0]
		for _, x := range v {
			dst = append(dst, float32(x))
		}
	}
	return dst
}

// scalarValue reads a scalar node value.
func scalarValue(v G.Value) float64 {
	switch x := v.Data().(type) {
	case float32:
		return float64(x)
	case float64:
		return x
	case []float32:
		return float64(x[0])
	case []float64:
		return x[0]
	}
	return math.NaN()
}

// resized returns buf with length n and every element zero, reusing its storage.
func resized(buf []float64, n int) []float64 {
	if cap(buf) < n {
		return make([]float64, n)
	}
	buf = buf[:n]
	clear(buf)
	return buf
}
