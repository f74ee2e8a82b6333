package model

import (
	"errors"
	"fmt"
	"math"
	"strconv"

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
	tag   string    // put before the names of the slot and input nodes (hashTag)
}

// newGraph creates the graph and its parameter slots; attempt numbers the build (hashTag).
func newGraph(n *Network, sess *Session, dt tensor.Dtype, attempt int) (*graph, error) {
	g := G.NewGraph()
	specs := append(append([]nn.ParamSpec{}, n.coreSpecs...), sess.specs...)
	tag := hashTag(attempt)
	slots, err := nn.NewSlots(g, dt, specs, tag)
	if err != nil {
		return nil, err
	}
	gr := &graph{net: n, sess: sess, dt: dt, g: g, slots: slots, tag: tag}
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
	return G.NewTensor(gr.g, gr.dt, len(shape), G.WithShape(shape...), G.WithName(gr.tag+name))
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
	return graphCheck(gr.g)
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

// errHashCollision reports two distinct graph nodes with one hash (checkHashes).
var errHashCollision = errors.New("two graph nodes share a hash")

// checkHashes refuses a graph in which two distinct nodes share a hash: gorgonia's
// compiler merges nodes by their 32-bit hash alone (value numbering), so such a pair would
// silently share one result. With n nodes a collision has a probability of about n²/2³³:
// 0.6 % for a training window of the small network (7,034 nodes at 4 × 60 frames), 1.2 %
// for a 300-frame evaluation window (10,001 nodes), so an evaluation of 14 sessions meets
// one about one time in six (one stopped a reproduction); buildTagged then builds the
// graph again with other hashes.
func checkHashes(g *G.ExprGraph) error {
	seen := map[uint32]*G.Node{}
	for _, n := range g.AllNodes() {
		h := n.Hashcode()
		if m, ok := seen[h]; ok && m != n {
			return fmt.Errorf("model: graph nodes %s and %s share the hash %08x: %w", m, n, h, errHashCollision)
		}
		seen[h] = n
	}
	return nil
}

// graphCheck is the check of every built graph: checkHashes (a test replaces it).
var graphCheck = checkHashes

// hashTries is how many differently tagged builds buildTagged makes before it gives up.
const hashTries = 8

// hashTag is the name prefix of build attempt k: none for the first, so that node names
// are the plain ones unless a collision forced another build.
func hashTag(k int) string {
	if k == 0 {
		return ""
	}
	return "#" + strconv.Itoa(k) + " "
}

// buildTagged calls build with attempt 0, 1, … until it returns something other than a
// hash collision. Each attempt tags the names of the parameter and input nodes
// differently, which draws new hashes for every node computed from them and leaves the
// computation unchanged (nodes computed from constants alone keep theirs).
func buildTagged[T any](build func(attempt int) (T, error)) (T, error) {
	var v T
	var err error
	for k := range hashTries {
		if v, err = build(k); !errors.Is(err, errHashCollision) {
			return v, err
		}
	}
	return v, fmt.Errorf("%w in each of %d builds (report this)", err, hashTries)
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
