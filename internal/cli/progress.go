package cli

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress draws a progress bar with rate and ETA on stderr. Its zero value is not
// usable; create one with newProgress. The total is set on the first Update, so callers
// that learn it late (a simulator planning its trials) need not know it up front.
type progress struct {
	w     io.Writer
	desc  string
	unit  string
	bar   *progressbar.ProgressBar
	total int
}

func newProgress(w io.Writer, desc, unit string) *progress {
	return &progress{w: w, desc: desc, unit: unit}
}

// Update sets the progress to done out of total.
func (p *progress) Update(done, total int) {
	if p.bar == nil || total != p.total {
		p.total = total
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(p.desc),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(p.unit),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetWidth(30),
			progressbar.OptionOnCompletion(func() { io.WriteString(p.w, "\n") }),
		)
	}
	p.bar.Set(done)
}

// Finish completes the bar (if one was drawn).
func (p *progress) Finish() {
	if p.bar != nil && !p.bar.IsFinished() {
		p.bar.Exit()
		io.WriteString(p.w, "\n")
	}
}
