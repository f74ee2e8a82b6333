package train

import (
	"fmt"
	"math"
)

// CosineLR is the reference's learning-rate schedule CosineLr (MODEL.md 7.5): training runs in
// cycles of CycleSize epochs; within each of the first WarmupCycles cycles the rate rises
// linearly over WarmupEpochs epochs and then follows a half cosine down towards 0; later cycles
// restart the cosine from LR without warmup. The rate is constant within an epoch.
//
// With the released values (LR 0.1, CycleSize 100, WarmupEpochs 10, WarmupCycles 1) epochs 0,
// 9, 10, 55 and 99 get 0.005, 0.095, 0.1, 0.05 and 3.0459e-5.
type CosineLR struct {
	LR           float64 `yaml:"lr"`            // base (peak) rate, > 0
	CycleSize    int     `yaml:"cycle_size"`    // epochs per cycle, ≥ 1
	WarmupEpochs int     `yaml:"warmup_epochs"` // warmup epochs at the start of a warmup cycle, < CycleSize
	WarmupCycles int     `yaml:"warmup_cycles"` // cycles that start with a warmup; > 0 exactly when WarmupEpochs > 0
}

// DefaultCosineLR returns the released schedule (MODEL.md 7.7): lr 0.1, one cycle of 100
// epochs whose first 10 epochs warm up.
func DefaultCosineLR() CosineLR {
	return CosineLR{LR: 0.1, CycleSize: 100, WarmupEpochs: 10, WarmupCycles: 1}
}

// Validate reports the first field outside its range. As in the reference, warmup epochs and
// warmup cycles are both zero or both positive.
func (c CosineLR) Validate() error {
	switch {
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("schedule: lr %g, want a finite value > 0 (released: 0.1)", c.LR)
	case c.CycleSize < 1:
		return fmt.Errorf("schedule: cycle_size %d, want at least 1 epoch (released: 100)", c.CycleSize)
	case c.WarmupEpochs < 0 || c.WarmupEpochs >= c.CycleSize:
		return fmt.Errorf("schedule: warmup_epochs %d, want 0 ≤ warmup_epochs < cycle_size %d (released: 10)", c.WarmupEpochs, c.CycleSize)
	case c.WarmupCycles < 0:
		return fmt.Errorf("schedule: warmup_cycles %d, want 0 or more (released: 1)", c.WarmupCycles)
	case (c.WarmupEpochs > 0) != (c.WarmupCycles > 0):
		return fmt.Errorf("schedule: warmup_epochs %d with warmup_cycles %d: set both to 0 or both above 0", c.WarmupEpochs, c.WarmupCycles)
	}
	return nil
}

// Cycle returns the cycle of a global epoch index and the epoch within that cycle.
func (c CosineLR) Cycle(epoch int) (cycle, e int) {
	return epoch / c.CycleSize, epoch % c.CycleSize
}

// Rate returns the learning rate of a global epoch index (epoch 0 is the first epoch of cycle 0;
// cycle = epoch / CycleSize). It returns NaN for a negative epoch or a schedule that fails
// Validate, which SgdClip.Step rejects.
func (c CosineLR) Rate(epoch int) float64 {
	if epoch < 0 || c.Validate() != nil {
		return math.NaN()
	}
	cycle, e := c.Cycle(epoch)
	warmup := cycle < c.WarmupCycles
	if warmup && e < c.WarmupEpochs {
		return c.LR * (float64(e) + 0.5) / float64(c.WarmupEpochs)
	}
	t, tmax := e, c.CycleSize
	if warmup {
		t, tmax = e-c.WarmupEpochs, c.CycleSize-c.WarmupEpochs
	}
	// Same operation order as the reference: cos(t / tmax · π).
	return c.LR * (math.Cos(float64(t)/float64(tmax)*math.Pi) + 1) / 2
}
