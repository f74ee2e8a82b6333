package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/fmcore/fmcore/internal/config"
	"gorgonia.org/tensor"
)

func main() {
	f, err := config.Load("configs/tiny.yaml")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	ps := append(f.Model.CoreParams(), f.Model.SessionParams(5)...)
	dir := "model/testdata/golden/network_eval/params"
	seen := map[string]bool{}
	bad := 0
	for _, p := range ps {
		seen[p.Name] = true
		r, err := os.Open(filepath.Join(dir, p.Name+".npy"))
		if err != nil {
			fmt.Println("missing", p.Name)
			bad++
			continue
		}
		t := new(tensor.Dense)
		if err := t.ReadNpy(r); err != nil {
			fmt.Println("read", p.Name, err)
			bad++
		}
		r.Close()
		if fmt.Sprint(t.Shape()) != fmt.Sprint(tensor.Shape(p.Shape)) {
			fmt.Println("shape", p.Name, t.Shape(), p.Shape)
			bad++
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.npy"))
	var extra []string
	for _, fn := range files {
		n := filepath.Base(fn)
		n = n[:len(n)-4]
		if !seen[n] {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	fmt.Println("go specs", len(ps), "files", len(files), "extra in fixture", extra, "problems", bad)
	for _, fn := range []string{"model/testdata/golden/network_train_s1/inputs/stimulus.npy", "model/testdata/golden/network_train_s1/outputs/loss.npy", "model/testdata/golden/network_eval_f32/outputs/rates.npy"} {
		r, _ := os.Open(fn)
		t := new(tensor.Dense)
		err := t.ReadNpy(r)
		fmt.Println(fn, t.Shape(), t.Dtype(), err)
	}
}
