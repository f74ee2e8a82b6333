package model

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/fmcore/fmcore/model/modeltest"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestCheckHashesFindsCollisions builds input nodes until two distinct ones share
// gorgonia's 32-bit hash (a birthday search: 50 % by about 77,000 names) and checks that
// checkHashes reports them as errHashCollision, and not a graph without such a pair.
func TestCheckHashesFindsCollisions(t *testing.T) {
	g := G.NewGraph()
	seen := map[uint32]string{}
	var a, b string
	for i := 0; a == "" && i < 1_000_000; i++ {
		name := fmt.Sprintf("x%d", i)
		h := G.NewVector(g, tensor.Float32, G.WithShape(2), G.WithName(name)).Hashcode()
		if other, ok := seen[h]; ok {
			a, b = other, name
		}
		seen[h] = name
	}
	if a == "" {
		t.Fatal("no two of 1,000,000 names share a hash: the search is broken")
	}
	pair := G.NewGraph()
	G.NewVector(pair, tensor.Float32, G.WithShape(2), G.WithName(a))
	G.NewVector(pair, tensor.Float32, G.WithShape(2), G.WithName(b))
	if err := checkHashes(pair); !errors.Is(err, errHashCollision) {
		t.Errorf("inputs %q and %q share a hash: checkHashes says %v, want errHashCollision", a, b, err)
	}
	// The tag of the second build attempt separates them.
	tagged := G.NewGraph()
	G.NewVector(tagged, tensor.Float32, G.WithShape(2), G.WithName(hashTag(1)+a))
	G.NewVector(tagged, tensor.Float32, G.WithShape(2), G.WithName(hashTag(1)+b))
	if err := checkHashes(tagged); err != nil {
		t.Errorf("tagged inputs: %v", err)
	}
}

// TestBuildRetriesOnCollision makes the first build of a window report a hash collision
// (as about one 300-frame evaluation window of the small network in eighty does) and checks
// that the window is built again, tagged, and computes what an untagged window computes.
func TestBuildRetriesOnCollision(t *testing.T) {
	net := goldenNetwork(t, modeltest.LoadGolden(t, "testdata/golden/network_eval"))
	const key, N, T, burnin = "1-1", 2, 6, 2
	plain, err := buildWindow(net, net.Sessions[key], N, T, burnin, false, tensor.Float32, 0)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	graphCheck = func(g *G.ExprGraph) error {
		calls++
		if calls == 1 {
			return fmt.Errorf("forced: %w", errHashCollision)
		}
		return checkHashes(g)
	}
	defer func() { graphCheck = checkHashes }()
	w, err := net.NewWindow(key, N, T, burnin, false)
	if err != nil {
		t.Fatalf("after one collision: %v", err)
	}
	if calls != 2 {
		t.Fatalf("%d builds, want 2", calls)
	}
	if got := w.lum.Name(); got != hashTag(1)+"input.luminance" {
		t.Errorf("the second build's input is named %q, want the tag of attempt 1", got)
	}
	b := randomBatch(rand.New(rand.NewPCG(3, 4)), net.Config, N, T, tinyUnits)
	want, _, err := plain.Evaluate(b)
	if err != nil {
		t.Fatal(err)
	}
	want = append([]float32(nil), want...)
	got, _, err := w.Evaluate(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("rate %d: tagged window %g, untagged %g", i, got[i], want[i])
		}
	}

	graphCheck = func(*G.ExprGraph) error { return fmt.Errorf("forced: %w", errHashCollision) }
	if _, err := net.NewWindow(key, N, T, burnin, false); !errors.Is(err, errHashCollision) {
		t.Errorf("collisions in every build: error %v, want errHashCollision", err)
	}
}
