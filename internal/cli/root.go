// Package cli builds fmcore's command tree. Each command lives in its own file with an
// options struct, a constructor that binds flags to the options, and a run function.
// Nothing here calls os.Exit: Main returns the exit code to cmd/fmcore.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes returned by Main.
const (
	ExitOK          = 0   // success
	ExitError       = 1   // the command failed (bad input, failed check, I/O error)
	ExitUsage       = 2   // the command line itself is wrong
	ExitInterrupted = 130 // cancelled by SIGINT or SIGTERM
)

// IO is where a command reads and writes: results go to Out, messages and progress to Err.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// usageError marks an error in the command line (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usage error with a formatted message.
func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// Main runs fmcore with the given arguments and returns the process exit code. Errors are
// printed as one line on stderr, prefixed with "fmcore: ".
func Main(ctx context.Context, args []string, in io.Reader, out, errw io.Writer) int {
	ios := IO{In: in, Out: out, Err: errw}
	root := NewRootCmd(ios)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	msg := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
	fmt.Fprintln(errw, "fmcore: "+msg)
	switch {
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, new(usageError)), isCobraUsage(err):
		fmt.Fprintln(errw, "Run 'fmcore --help' for usage.")
		return ExitUsage
	}
	return ExitError
}

// isCobraUsage recognises the errors cobra itself returns for a bad command line.
func isCobraUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "requires at most", "required flag"} {
		if strings.HasPrefix(s, p) || strings.Contains(s, " "+p) {
			return true
		}
	}
	return false
}

// NewRootCmd builds the whole command tree.
func NewRootCmd(ios IO) *cobra.Command {
	var verbose bool
	root := &cobra.Command{
		Use:   "fmcore",
		Short: "A foundation model of mouse visual cortex",
		Long: `fmcore trains and runs a foundation model of mouse visual cortex: one shared core
learned across many mice, and small per-session perspective, modulation and readout
modules, predicting every neuron's response to any video.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(ios.Err, &slog.HandlerOptions{Level: level})))
		},
	}
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "log debug messages to stderr")
	root.SetOut(ios.Out)
	root.SetErr(ios.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newVersionCmd(ios, nil), newDataCmd(ios), newSimulateCmd(ios, nil), newModelCmd(ios), newTrainCmd(ios, nil), newFinetuneCmd(ios, nil), newPredictCmd(ios, nil), newEvaluateCmd(ios, nil))
	return root
}

// exactArgs is cobra.ExactArgs with a usage error that names the expected arguments.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("expected %s, got %d argument(s)", what, len(args))
		}
		return nil
	}
}

// minArgs requires at least n positional arguments.
func minArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("expected %s", what)
		}
		return nil
	}
}
