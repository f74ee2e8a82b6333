package mouse

import (
	"cmp"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// Tuning clips: burn-in 30 frames (the slowest filter, 1.5 Hz, and a 0.5 s calcium
// kernel have settled to a few per cent), then 40 frames, a whole number of cycles of
// every default temporal channel (1.5, 3 and 6 Hz at 30 Hz).
const (
	tuneBurn   = 30
	tuneFrames = 70
)

// TestDirectionTruth checks that every sampled ds unit responds more to a full-field
// grating drifting in its recorded preferred direction (at its SF and TF) than to the
// opposite direction. By construction (the opposite-direction weight is below 1 and the
// temporal filter's response to the opposite direction is 4–8 % of its peak) all units
// should pass; the normalisation pool is the same for both directions.
func TestDirectionTruth(t *testing.T) {
	b := testBank(t)
	m := testMouse(t, b, MouseSpec{ID: "ds", Units: 400, Seed: 7})
	tr := m.Truth()
	type combo struct{ dir, sf, tf float32 }
	byCombo := map[combo][]int{}
	for u, c := range tr.Class {
		if c == ClassDS {
			k := combo{tr.Direction[u], tr.SF[u], tr.TF[u]}
			byCombo[k] = append(byCombo[k], u)
		}
	}
	cache := map[combo][]float64{}
	means := func(k combo) []float64 {
		if r, ok := cache[k]; ok {
			return r
		}
		fr := grating(b.spec, tuneFrames, float64(k.dir), float64(k.sf), float64(k.tf), 1)
		r := meanRates(respondRest(t, m, fr, tuneFrames), tuneFrames, len(tr.Class), tuneBurn)
		cache[k] = r
		return r
	}
	keys := slices.SortedFunc(maps.Keys(byCombo), func(a, b combo) int {
		return cmp.Or(cmp.Compare(a.dir, b.dir), cmp.Compare(a.sf, b.sf), cmp.Compare(a.tf, b.tf))
	})
	tested, pass := 0, 0
	for _, k := range keys {
		units := byCombo[k]
		if tested >= 40 { // bounds the test's run time: ≤ 2 clips per combo
			break
		}
		pref := means(k)
		opp := means(combo{float32(int(k.dir+180) % 360), k.sf, k.tf})
		for _, u := range units {
			tested++
			if pref[u] > opp[u] {
				pass++
			} else {
				t.Errorf("unit %d (dir %g, sf %g, tf %g): preferred %.3g ≤ opposite %.3g", u, k.dir, k.sf, k.tf, pref[u], opp[u])
			}
		}
	}
	t.Logf("%d of %d ds units prefer their recorded direction", pass, tested)
	if tested < 20 {
		t.Fatalf("only %d ds units tested", tested)
	}
}

// TestOrientationTruth checks that simple and complex units respond most to gratings at
// their recorded orientation, among 16 orientations 11.25° apart (each drifting in one
// direction: both classes are separable, so direction does not matter). The neighbour
// weights are symmetric, so the peak is at the dominant filter's orientation; the pool
// varies little with orientation. Pass: the argmax is the recorded orientation for at
// least 90 % of units and within 11.25° for all.
func TestOrientationTruth(t *testing.T) {
	b := testBank(t)
	m := testMouse(t, b, MouseSpec{ID: "ori", Units: 300, Seed: 11})
	tr := m.Truth()
	type combo struct{ sf, tf float32 }
	byCombo := map[combo][]int{}
	for u, c := range tr.Class {
		if c != ClassDS {
			k := combo{tr.SF[u], tr.TF[u]}
			byCombo[k] = append(byCombo[k], u)
		}
	}
	const nOri = 16
	tested, exact := 0, 0
	for _, sf := range b.spec.SF {
		// One temporal channel (1.5 Hz, the commonest) keeps the test to 3×16 clips.
		k := combo{float32(sf), float32(b.tfs[0].tePeakHz)}
		units := byCombo[k]
		if len(units) == 0 {
			continue
		}
		resp := make([][]float64, nOri)
		for i := range nOri {
			fr := grating(b.spec, tuneFrames, float64(i)*180/nOri, sf, float64(k.tf), 1)
			resp[i] = meanRates(respondRest(t, m, fr, tuneFrames), tuneFrames, len(tr.Class), tuneBurn)
		}
		for _, u := range units {
			best := 0
			for i := range nOri {
				if resp[i][u] > resp[best][u] {
					best = i
				}
			}
			got := float64(best) * 180 / nOri
			d := angleDiff(got, float64(tr.Orientation[u]), 180)
			tested++
			if d == 0 {
				exact++
			}
			if d > 180.0/nOri {
				t.Errorf("unit %d (%s, sf %g): peak at %g°, recorded %g°", u, tr.Class[u], sf, got, tr.Orientation[u])
			}
		}
	}
	t.Logf("orientation peak exact for %d of %d simple/complex units", exact, tested)
	if tested < 30 {
		t.Fatalf("only %d units tested", tested)
	}
	if float64(exact) < 0.9*float64(tested) {
		t.Errorf("exact orientation peak for %d of %d units, want ≥ 90 %%", exact, tested)
	}
}

// TestReceptiveFieldTruth maps receptive fields with flashing dots (MODEL.md 10.4): each
// dot, bright or dark, one pixel on mid-grey, is shown for 3 frames after one grey frame
// (the filters start in the grey steady state) and read with a box response over those
// frames. The on+off map, minus the grey response and clipped at 0, is symmetric about
// the RF centre for every class (an odd simple filter has an on lobe on one side and an
// off lobe on the other), so its centroid must match the recorded centre. Dots cover
// every pixel, so the bank is a small one (32×18 pixels at 3.75°/pixel, about 1,150
// clips of 4 frames). Only units whose map fits in the frame (centre ≥ 2.5σ + 1 px
// inside) are checked. Pass: centroid within 0.5 px for all, the strongest dot within
// 2 px (the lobe offset of an odd simple filter is at most a quarter period, 1.7 px at
// 0.04 cycles/degree, plus rounding to the pixel).
func TestReceptiveFieldTruth(t *testing.T) {
	b, err := NewBank(BankSpec{Width: 32, Height: 18, DegPerPixel: 3.75})
	if err != nil {
		t.Fatal(err)
	}
	m := testMouse(t, b, MouseSpec{ID: "rf", Units: 600, Seed: 21})
	tr := m.Truth()
	w, h := b.spec.Width, b.spec.Height
	var units []int
	for u := range tr.Class {
		s := float64(tr.SigmaPixel[u])
		x, y := float64(tr.RFPixel[2*u]), float64(tr.RFPixel[2*u+1])
		m := 2.5*s + 1
		if x >= m && y >= m && x <= float64(w-1)-m && y <= float64(h-1)-m {
			units = append(units, u)
		}
	}
	if len(units) < 20 {
		t.Fatalf("only %d units fit the dot map", len(units))
	}

	const T = 4
	U := len(tr.Class)
	grey := make([]uint8, T*w*h)
	for i := range grey {
		grey[i] = 128
	}
	base := meanRates(respondRest(t, m, grey, T), T, U, 1)
	rfMap := make([][]float64, U) // [U][h·w] on+off response above grey
	for _, u := range units {
		rfMap[u] = make([]float64, w*h)
	}
	clip := make([]uint8, T*w*h)
	var feat *Features
	rng := rand.New(rand.NewPCG(0, 0))
	rest := m.RestBehavior(T)
	for y := range h {
		for x := range w {
			for _, v := range []uint8{255, 0} {
				copy(clip, grey)
				for f := 1; f < T; f++ {
					clip[(f*h+y)*w+x] = v
				}
				if feat, err = b.Features(clip, T, feat); err != nil {
					t.Fatal(err)
				}
				rate, _, err := m.Respond(feat, rest, rng)
				if err != nil {
					t.Fatal(err)
				}
				r := meanRates(rate, T, U, 1)
				for _, u := range units {
					rfMap[u][y*w+x] += max(0, r[u]-base[u])
				}
			}
		}
	}
	worstC, worstP := 0.0, 0.0
	for _, u := range units {
		var sx, sy, sw, best float64
		bx, by := 0, 0
		for y := range h {
			for x := range w {
				v := rfMap[u][y*w+x]
				sx, sy, sw = sx+v*float64(x), sy+v*float64(y), sw+v
				if v > best {
					best, bx, by = v, x, y
				}
			}
		}
		rx, ry := float64(tr.RFPixel[2*u]), float64(tr.RFPixel[2*u+1])
		cd := math.Hypot(sx/sw-rx, sy/sw-ry)
		pd := math.Hypot(float64(bx)-rx, float64(by)-ry)
		worstC, worstP = max(worstC, cd), max(worstP, pd)
		if cd > 0.5 || pd > 2 {
			t.Errorf("unit %d (%s, σ %.1f px, phase %g): RF at (%.2f, %.2f), dot centroid (%.2f, %.2f), strongest dot (%d, %d)",
				u, tr.Class[u], tr.SigmaPixel[u], tr.Phase[u], rx, ry, sx/sw, sy/sw, bx, by)
		}
	}
	t.Logf("%d units mapped; worst centroid error %.2f px, strongest dot %.2f px", len(units), worstC, worstP)
}

// TestSpatialFrequencyTruth checks that complex and simple units respond most, among
// gratings at half-octave steps of SF, to their recorded SF (the filter's centre
// frequency). Units with orientation 0° and the 1.5 Hz channel are tested, so 7 clips
// cover them. The divisive pool pools all scales, so it varies little with SF; the
// filter's DC removal shifts its peak up by a few per cent, well inside half an octave.
// Pass: argmax at the recorded SF for all.
func TestSpatialFrequencyTruth(t *testing.T) {
	b := testBank(t)
	m := testMouse(t, b, MouseSpec{ID: "sf", Units: 800, Seed: 17})
	tr := m.Truth()
	tf := float32(b.tfs[0].tePeakHz)
	var units []int
	for u, c := range tr.Class {
		if c != ClassDS && tr.Orientation[u] == 0 && tr.TF[u] == tf {
			units = append(units, u)
		}
	}
	sfs := []float64{0.01, 0.014, 0.02, 0.028, 0.04, 0.057, 0.08, 0.113}
	resp := make([][]float64, len(sfs))
	for i, sf := range sfs {
		fr := grating(b.spec, tuneFrames, 0, sf, float64(tf), 1)
		resp[i] = meanRates(respondRest(t, m, fr, tuneFrames), tuneFrames, len(tr.Class), tuneBurn)
	}
	for _, u := range units {
		best := 0
		for i := range sfs {
			if resp[i][u] > resp[best][u] {
				best = i
			}
		}
		if math.Abs(sfs[best]-float64(tr.SF[u])) > 1e-6 {
			t.Errorf("unit %d (%s): SF peak at %g, recorded %g", u, tr.Class[u], sfs[best], tr.SF[u])
		}
	}
	t.Logf("%d units tested", len(units))
	if len(units) < 10 {
		t.Fatalf("only %d units tested", len(units))
	}
}
