package cli

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTrainInterrupt stops `fmcore train` the way Ctrl-C does (cmd/fmcore cancels the
// context on SIGINT and SIGTERM): once after the first checkpoint, when the epochs already
// finished must stay saved and `--resume` must continue after them, and once before any
// epoch finished, when the message must not promise a checkpoint.
func TestTrainInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the tiny network")
	}
	ds, dir := tinyDataset(t)
	// cancelWhen cancels the returned context as soon as path exists.
	cancelWhen := func(path string) context.Context {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		go func() {
			for ctx.Err() == nil {
				if _, err := os.Stat(path); err == nil {
					cancel()
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		return ctx
	}
	train := []string{"train", "--mice", "1-2", "--data", ds, "--config", "tiny", "--epochs", "1000"}

	// Stopped after the first checkpoint: 1,000 epochs cannot all finish first.
	out := filepath.Join(dir, "run")
	code, _, errs := runMain(cancelWhen(filepath.Join(out, "checkpoint", "core.fmck")), append(train, "--out", out)...)
	if code == 0 {
		t.Fatal("an interrupted train exited 0")
	}
	m := regexp.MustCompile(`interrupted during epoch (\d+): the checkpoint of epoch (\d+) in .* is intact`).FindStringSubmatch(errs)
	if m == nil {
		t.Fatalf("stderr %q does not say which checkpoint is intact", errs)
	}
	stopped, _ := strconv.Atoi(m[1])
	saved, _ := strconv.Atoi(m[2])
	if saved != stopped-1 {
		t.Errorf("interrupted in epoch %d, checkpoint named as epoch %d, want %d", stopped, saved, stopped-1)
	}
	log, err := os.ReadFile(filepath.Join(out, "log.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "\n"); n != stopped {
		t.Errorf("log.jsonl has %d epochs, want the %d finished before the interrupt", n, stopped)
	}
	code, stdout, errs := runMain(context.Background(), "train", "--mice", "1-2", "--data", ds, "--config", "tiny",
		"--out", out, "--resume", "--epochs", strconv.Itoa(stopped+1))
	if code != 0 {
		t.Fatalf("--resume after the interrupt: exit %d: %s", code, errs)
	}
	if !regexp.MustCompile(`(?m)^epoch +` + strconv.Itoa(stopped) + ` `).MatchString(stdout) {
		t.Errorf("--resume did not train epoch %d: stdout %q", stopped, stdout)
	}

	// Stopped before any epoch finished: nothing to promise.
	out = filepath.Join(dir, "early")
	code, _, errs = runMain(cancelWhen(filepath.Join(out, "run.json")), append(train, "--out", out)...)
	if code == 0 {
		t.Fatal("an interrupted train exited 0")
	}
	if !strings.Contains(errs, "interrupted during epoch 0: no epoch finished") {
		t.Errorf("stderr %q, want it to say that no epoch finished", errs)
	}
	if _, err := os.Stat(filepath.Join(out, "checkpoint")); err == nil {
		t.Error("a run stopped in epoch 0 left a checkpoint folder")
	}
}
