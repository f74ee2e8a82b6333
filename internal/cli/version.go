package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/fmcore/fmcore/internal/buildinfo"
	"github.com/spf13/cobra"
)

type versionOptions struct {
	IO   IO
	JSON bool
}

func newVersionCmd(ios IO, runF func(context.Context, *versionOptions) error) *cobra.Command {
	opts := &versionOptions{IO: ios}
	if runF == nil {
		runF = runVersion
	}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of fmcore",
		Args:  exactArgs(0, "no arguments"),
		RunE:  func(cmd *cobra.Command, _ []string) error { return runF(cmd.Context(), opts) },
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

func runVersion(_ context.Context, opts *versionOptions) error {
	info := buildinfo.Read()
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	_, err := fmt.Fprintf(opts.IO.Out, "fmcore %s %s %s\n", info, info.GoVersion, info.Platform)
	return err
}
