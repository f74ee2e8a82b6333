// Command fmcore trains and runs a foundation model of mouse visual cortex.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/fmcore/fmcore/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
