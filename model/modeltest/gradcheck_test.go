package modeltest

import (
	"fmt"
	"hash"
	"strings"
	"testing"

	"github.com/chewxy/hm"
	"github.com/fmcore/fmcore/model/nn"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestRelErr(t *testing.T) {
	for _, tc := range []struct {
		a, n, want float64
	}{
		{1, 1, 0},
		{1, 1.00002, 0.00002 / 2.00002}, // relative above the floor
		{-3, 3, 1},                      // opposite signs: the largest error
		{1e-9, 2e-9, 1e-9 / GradFloor},  // below the floor: absolute, scaled by the floor
	} {
		if got := RelErr(tc.a, tc.n); got-tc.want > 1e-15 || tc.want-got > 1e-15 {
			t.Errorf("RelErr(%v, %v) = %v, want %v", tc.a, tc.n, got, tc.want)
		}
	}
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	msgs []string
}

func (r *recorder) Errorf(format string, a ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, a...))
}
func (r *recorder) Fatalf(format string, a ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, a...))
	r.FailNow()
}

// TestGradCheckCatchesWrongGradients runs the check on an op whose gradient is wrong by a factor
// of 1.00003 (RelErr 1.5e-5, just above GradTol) or ½, and on the correct one: only the correct
// one passes.
func TestGradCheckCatchesWrongGradients(t *testing.T) {
	for _, tc := range []struct {
		factor float64
		fail   bool
	}{{1, false}, {1.00003, true}, {0.5, true}} {
		t.Run(fmt.Sprint(tc.factor), func(t *testing.T) {
			r := &recorder{TB: t}
			GradCheck(r, func(b *nn.Builder, in []*G.Node) *G.Node {
				return G.Must(G.ApplyOp(scaleOp{factor: tc.factor}, b.Tanh(in[0])))
			}, []GradInput{{Name: "x", Shape: []int{2, 3}}}, 1)
			if failed := len(r.msgs) > 0; failed != tc.fail {
				t.Errorf("failed %v (%s), want %v", failed, strings.Join(r.msgs, "; "), tc.fail)
			}
		})
	}
}

// scaleOp computes y = 2x and claims dy·2·factor as its gradient.
type scaleOp struct{ factor float64 }

func (op scaleOp) Arity() int { return 1 }
func (op scaleOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}
func (op scaleOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	return ds[0].(tensor.Shape), nil
}
func (op scaleOp) Do(v ...G.Value) (G.Value, error) {
	d := v[0].(*tensor.Dense)
	out := make([]float64, d.Shape().TotalSize())
	for i, x := range d.Data().([]float64) {
		out[i] = 2 * x
	}
	return tensor.New(tensor.WithShape(d.Shape()...), tensor.WithBacking(out)), nil
}
func (op scaleOp) ReturnsPtr() bool      { return false }
func (op scaleOp) CallsExtern() bool     { return false }
func (op scaleOp) OverwritesInput() int  { return -1 }
func (op scaleOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "scale %v", op.factor) }
func (op scaleOp) Hashcode() uint32      { return uint32(op.factor * 1e6) }
func (op scaleOp) String() string        { return "scale" }
func (op scaleOp) DiffWRT(int) []bool    { return []bool{true} }
func (op scaleOp) SymDiff(_ G.Nodes, _, dy *G.Node) (G.Nodes, error) {
	g, err := G.Mul(dy, G.NewConstant(2*op.factor))
	return G.Nodes{g}, err
}
