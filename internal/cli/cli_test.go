package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the testscript files run the real command tree as "fmcore".
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"fmcore": func() {
			os.Exit(Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
		},
	})
}

// TestScripts runs the command-behaviour scripts in testdata/script: each is a small
// session of fmcore commands with the output and exit status they must give.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			// A fresh cache per script, so no test sees another's decoded frames.
			env.Setenv("XDG_CACHE_HOME", env.WorkDir+"/.cache")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"sameepoch": sameEpoch},
		Condition: func(cond string) (bool, error) {
			if cond == "short" {
				return testing.Short(), nil
			}
			return false, nil
		},
	})
}

// sameEpoch is the script command "sameepoch FILE1 FILE2 N": both outputs report epoch N
// with the same learning rate, losses and correlation (the durations may differ), as a
// resumed run must match an uninterrupted one.
func sameEpoch(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: sameepoch FILE1 FILE2 N")
	}
	line := func(file string) string {
		prefix := fmt.Sprintf("epoch %3s ", args[2])
		for l := range strings.Lines(ts.ReadFile(file)) {
			if strings.HasPrefix(l, prefix) {
				f := strings.Fields(l)
				return strings.Join(f[:len(f)-1], " ") // drop the duration
			}
		}
		ts.Fatalf("%s has no line for epoch %s", file, args[2])
		return ""
	}
	if a, b := line(args[0]), line(args[1]); a != b {
		ts.Fatalf("epoch %s differs:\n%s: %s\n%s: %s", args[2], args[0], a, args[1], b)
	}
}

// runMain runs fmcore with args and returns its exit code, stdout and stderr.
func runMain(ctx context.Context, args ...string) (int, string, string) {
	var out, errw bytes.Buffer
	code := Main(ctx, args, strings.NewReader(""), &out, &errw)
	return code, out.String(), errw.String()
}

// tinyDataset simulates two mice of 10 units, 0.4 minutes each, into a temporary folder
// (with its own frame cache) and returns the dataset folder and the temporary folder.
func tinyDataset(t *testing.T) (ds, dir string) {
	t.Helper()
	dir = t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	ds = filepath.Join(dir, "ds")
	if code, _, errs := runMain(context.Background(), "simulate", "--out", ds, "--mice", "2", "--new-mice", "0", "--units", "10",
		"--minutes", "0.4", "--clip-seconds", "2", "--test-clips", "1", "--repeats", "3", "--domains", "gabor", "--seed", "3"); code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, errs)
	}
	return ds, dir
}

// tinyConfig writes configs/tiny.yaml to path with each old→new replacement made once and
// trainLines (indented YAML lines) appended to its train section, and returns path.
func tinyConfig(t *testing.T, path, trainLines string, oldNew ...string) string {
	t.Helper()
	tiny, err := os.ReadFile("../../configs/tiny.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(tiny)
	if !strings.HasSuffix(text, "    warmup_cycles: 1\n") {
		t.Fatal("configs/tiny.yaml no longer ends with its train.schedule section; update tinyConfig")
	}
	for i := 0; i+1 < len(oldNew); i += 2 {
		if !strings.Contains(text, oldNew[i]) {
			t.Fatalf("configs/tiny.yaml has no %q to replace", oldNew[i])
		}
		text = strings.Replace(text, oldNew[i], oldNew[i+1], 1)
	}
	if err := os.WriteFile(path, []byte(text+trainLines), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
