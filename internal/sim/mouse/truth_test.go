package mouse

import (
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
	tested, pass := 0, 0
	for k, units := range byCombo {
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
