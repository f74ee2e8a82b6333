// Package configs embeds the shipped configuration files, so the binary finds
// "small", "tiny" and "paper" wherever it runs.
package configs

import "embed"

// Files holds paper.yaml, small.yaml and tiny.yaml.
//
//go:embed *.yaml
var Files embed.FS
