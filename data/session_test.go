package data

import (
	"context"
	"testing"
)

// TestMaxTrainMinutes checks the data budget of fine-tuning curves: only the first
// minutes of training trials (in file order) are kept and used for the statistics;
// other tiers are untouched.
func TestMaxTrainMinutes(t *testing.T) {
	src := newMemSource(2)
	for i := range 5 { // 5 training trials of 600 frames = 20 s each
		src.add(codedTrial(i, 600, 2, TierTrain))
	}
	src.add(codedTrial(5, 600, 2, TierValidation))
	for _, tc := range []struct {
		minutes float64
		train   int
	}{{0, 5}, {0.2, 1}, {0.3, 1}, {0.34, 2}, {1, 3}, {10, 5}} {
		opts := DefaultPrepareOptions()
		opts.MaxTrainMinutes = tc.minutes
		s, err := Prepare(context.Background(), src, opts)
		if err != nil {
			t.Fatal(err)
		}
		// A trial is kept while the budget is not yet used up, so the kept minutes
		// reach the budget (the last trial may overshoot it).
		if got := s.Kept(TierTrain); got != tc.train {
			t.Errorf("%g minutes: %d training trials kept, want %d", tc.minutes, got, tc.train)
		}
		if got := s.Kept(TierValidation); got != 1 {
			t.Errorf("%g minutes: %d validation trials kept, want 1", tc.minutes, got)
		}
		// Statistics come from the kept training trials only: running = f + 1000·i, so
		// its scale grows with the number of trials used.
		if tc.minutes == 0.2 {
			single := s.Stats().Running.Scale
			opts.MaxTrainMinutes = 0
			all, _ := Prepare(context.Background(), src, opts)
			if !(single < all.Stats().Running.Scale) {
				t.Errorf("statistics with a 0.2-minute budget (running scale %g) are not those of the first trial only (all: %g)", single, all.Stats().Running.Scale)
			}
		}
	}
	opts := DefaultPrepareOptions()
	opts.MaxTrainMinutes = -1
	if _, err := Prepare(context.Background(), src, opts); err == nil {
		t.Error("a negative budget is accepted")
	}
}
