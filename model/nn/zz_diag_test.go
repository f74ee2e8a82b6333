package nn_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/fmcore/fmcore/model/nn"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestZZDiag(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	g := G.NewGraph()
	b := nn.NewBuilder(g, nil)
	mk := func(name string, shape ...int) *G.Node {
		v := make([]float64, tensor.Shape(shape).TotalSize())
		for i := range v {
			v[i] = 2*rng.Float64() - 1
		}
		return G.NewTensor(g, tensor.Float64, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))))
	}
	x := mk("x", 1, 1, 3, 16, 16)
	b.NoGrad(x)
	w0, b0 := mk("w0", 4, 1, 1, 6, 6), mk("b0", 4)
	w1, g1, b1 := mk("w1", 4, 4, 3, 3, 3), mk("g1", 4), mk("b1", 4)
	w2, g2, b2 := mk("w2", 3, 8, 1, 1, 1), mk("g2", 3), mk("b2", 3)
	y := b.Conv3d(x, w0, b0, nn.ConvOpts{Groups: 1, StrideH: 2, StrideW: 2, PadH: 2, PadW: 2, Replicate: true})
	x1 := b.Conv3d(b.GELU(y), b.WeightStd(w1, g1), b1, nn.ConvOpts{Groups: 1, PadH: 1, PadW: 1})
	z := b.CatGroups(1, y, x1)
	out := b.Conv3d(z, b.WeightStd(w2, g2), b2, nn.ConvOpts{Groups: 1})
	r := mk("R", out.Shape()...)
	b.NoGrad(r)
	loss := b.Sum(b.Mul(out, r))
	if b.Err() != nil {
		t.Fatal(b.Err())
	}
	learn := G.Nodes{w0, b0, w1, g1, b1, w2, g2, b2}
	if _, err := G.Grad(loss, learn...); err != nil {
		t.Fatal(err)
	}
	prog, locMap, err := G.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(prog)
	for n, r := range locMap {
		fmt.Printf("%v %x -> %v\n", n, n.ID(), r)
	}
	vm := G.NewTapeMachine(g, G.WithPrecompiled(prog, locMap), G.BindDualValues(learn...))
	run := func() float64 {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return loss.Value().Data().(float64)
	}
	l1 := run()
	bb := b0.Value().Data().([]float64)
	bb[1] += 0.5
	l2 := run()
	t.Logf("loss %v after b0 change %v", l1, l2)
}
