package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fmcore/fmcore/internal/config"
	"github.com/fmcore/fmcore/model"
)

func newModelCmd(ios IO) *cobra.Command {
	cmd := &cobra.Command{Use: "model", Short: "Describe networks"}
	cmd.AddCommand(newModelInfoCmd(ios, nil))
	return cmd
}

type modelInfoOptions struct {
	IO     IO
	Config string
	Units  int
	JSON   bool
}

func newModelInfoCmd(ios IO, runF func(context.Context, *modelInfoOptions) error) *cobra.Command {
	opts := &modelInfoOptions{IO: ios}
	if runF == nil {
		runF = runModelInfo
	}
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Print every module's parameter count and the tensor shape at each stage",
		Example: `  fmcore model info --config configs/paper.yaml --units 9941
  fmcore model info --config configs/small.yaml --json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error { return runF(cmd.Context(), opts) },
	}
	cmd.Flags().StringVar(&opts.Config, "config", "configs/small.yaml", "config file")
	cmd.Flags().IntVar(&opts.Units, "units", 1000, "units of the session whose readout is counted")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

func runModelInfo(_ context.Context, opts *modelInfoOptions) error {
	if opts.Units < 1 {
		return usagef("--units %d, want at least 1", opts.Units)
	}
	f, err := config.Load(opts.Config)
	if err != nil {
		return err
	}
	s, err := model.Summarize(f.Model, opts.Units)
	if err != nil {
		return fmt.Errorf("config %s: %w", opts.Config, err)
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	w := opts.IO.Out
	fmt.Fprintf(w, "%s: %d streams, %d units\n\n", opts.Config, f.Model.Streams, opts.Units)
	fmt.Fprintf(w, "%-18s %12s  %s\n", "module", "parameters", "")
	for _, m := range s.Modules {
		where := "per session"
		if m.Shared {
			where = "shared core"
		}
		fmt.Fprintf(w, "%-18s %12s  %s\n", m.Module, thousands(m.Parameters), where)
	}
	fmt.Fprintf(w, "%-18s %12s\n", "core total", thousands(s.Core))
	fmt.Fprintf(w, "%-18s %12s  (readout %s per unit)\n", "session total", thousands(s.Session), thousands(nReadoutPerUnit(s)))
	fmt.Fprintf(w, "%-18s %12s\n\n", "total", thousands(s.Total))
	fmt.Fprintf(w, "%-44s %-18s %s\n", "stage (per frame, N = 1)", "one stream", "all streams")
	for _, st := range s.Stages {
		fmt.Fprintf(w, "%-44s %-18s %s\n", st.Name, shape(st.OneStream), shape(st.AllStreams))
	}
	return nil
}

func nReadoutPerUnit(s model.Summary) int {
	for _, m := range s.Modules {
		if m.Module == "readout" {
			return m.Parameters / s.Units
		}
	}
	return 0
}

func shape(d []int) string {
	parts := make([]string, len(d))
	for i, v := range d {
		parts[i] = fmt.Sprint(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// thousands formats n with comma separators, as MODEL.md writes counts.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
