package cli

import (
	"bytes"
	"regexp"
	"testing"
	"time"
)

// TestProgressPlainLine checks the line a long step prints when stderr is not a terminal
// (logs, CI): the counts, rate and ETA, then the current values set by Note.
func TestProgressPlainLine(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, "epoch 3", "steps")
	p.start = time.Now().Add(-9 * time.Second)
	p.last = time.Time{} // due now: lines come every plainEvery
	p.Note("loss %.4f, lr %.4g", 0.99623, 0.0905)
	p.Update(18, 40)
	want := regexp.MustCompile(`^epoch 3: 18/40 steps \(45%\), 2 steps/s, ETA 1\ds, loss 0\.9962, lr 0\.0905\n$`)
	if !want.MatchString(buf.String()) {
		t.Errorf("progress line %q, want it to match %v", buf.String(), want)
	}
	buf.Reset()
	p.Update(19, 40) // within plainEvery of the last line: nothing
	if buf.Len() != 0 {
		t.Errorf("a second line within %v: %q", plainEvery, buf.String())
	}
}
