package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports the progress of a long step on stderr: a bar with count, rate and
// ETA on a terminal, and a plain line every few seconds otherwise (logs, CI). Create one
// with newProgress. The total is set by Update, so callers that learn it late need not
// know it up front.
type progress struct {
	w     io.Writer
	desc  string
	unit  string
	tty   bool
	bar   *progressbar.ProgressBar
	total int
	start time.Time
	last  time.Time // last plain line
	done  int
	note  string // current values shown after the counts, e.g. "loss 0.9962, lr 0.1"
}

// plainEvery is how often a non-terminal progress line is printed.
const plainEvery = 10 * time.Second

func newProgress(w io.Writer, desc, unit string) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	now := time.Now()
	return &progress{w: w, desc: desc, unit: unit, tty: tty, start: now, last: now}
}

// Note sets the current values shown after the counts (loss, learning rate) from the next
// Update on.
func (p *progress) Note(format string, args ...any) { p.note = fmt.Sprintf(format, args...) }

// Update sets the progress to done out of total.
func (p *progress) Update(done, total int) {
	p.done = done
	if !p.tty {
		if now := time.Now(); now.Sub(p.last) >= plainEvery && done < total {
			p.last = now
			fmt.Fprintf(p.w, "%s: %s\n", p.desc, p.status(done, total, now))
		}
		return
	}
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
	if p.note != "" {
		p.bar.Describe(p.desc + " (" + p.note + ")")
	}
	p.bar.Set(done)
}

// status formats "12/40 trials (30%), 2.1 trials/s, ETA 13s".
func (p *progress) status(done, total int, now time.Time) string {
	el := now.Sub(p.start).Seconds()
	rate := float64(done) / max(el, 1e-9)
	s := fmt.Sprintf("%d/%d %s (%.0f%%), %.3g %s/s", done, total, p.unit, 100*float64(done)/float64(max(total, 1)), rate, p.unit)
	if rate > 0 && done < total {
		s += ", ETA " + (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String()
	}
	if p.note != "" {
		s += ", " + p.note
	}
	return s
}

// Finish completes the bar (if one was drawn).
func (p *progress) Finish() {
	if p.bar != nil && !p.bar.IsFinished() {
		p.bar.Exit()
		io.WriteString(p.w, "\n")
	}
}
