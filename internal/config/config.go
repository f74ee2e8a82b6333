// Package config reads fmcore's configuration files: YAML with a `model:` section (the
// network, model.Config) and a `train:` section (the recipe, train.Config). Files are
// decoded strictly: an unknown key is an error naming it and its line; omitted keys keep
// the released value (MODEL.md 2, 7.7); every value is validated by the package that owns
// it. A name without a path ("small", "tiny", "paper") selects a shipped config.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/fmcore/fmcore/configs"
	"github.com/fmcore/fmcore/internal/train"
	"github.com/fmcore/fmcore/model"
)

// File is the schema of a config file.
type File struct {
	Model model.Config `yaml:"model"`
	Train train.Config `yaml:"train"`
}

// Default returns the released configuration.
func Default() File { return File{Model: model.Default(), Train: train.DefaultConfig()} }

// Load reads and validates the config file at path, or, for a bare name without folder
// or extension ("small", "demo", "tiny", "paper"), the shipped config of that name.
func Load(path string) (File, error) {
	// A bare name ("small") is a shipped config; anything with a folder or an extension
	// is a file.
	if !strings.ContainsRune(path, os.PathSeparator) && filepath.Ext(path) == "" {
		if b, err := configs.Files.ReadFile(path + ".yaml"); err == nil {
			return parseNamed(path, b)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return File{}, fmt.Errorf("config %s: %w", path, errors.Unwrap(err))
	}
	return parseNamed(path, b)
}

// parseNamed is Parse with errors naming the config.
func parseNamed(name string, b []byte) (File, error) {
	f, err := Parse(b)
	if err != nil {
		return File{}, fmt.Errorf("config %s: %w", name, err)
	}
	return f, nil
}

// Parse decodes and validates a config from YAML text.
func Parse(text []byte) (File, error) {
	f := Default()
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && err != io.EOF {
		return File{}, errors.New(cleanYAMLError(err))
	}
	if err := f.Model.Validate(); err != nil {
		return File{}, err
	}
	if err := f.Train.Validate(); err != nil {
		return File{}, err
	}
	return f, nil
}

// Marshal returns the config as YAML (the effective config a run records).
func (f File) Marshal() ([]byte, error) { return yaml.Marshal(f) }

// cleanYAMLError turns yaml.v3's multi-line errors into one line that names the key.
func cleanYAMLError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n")
	msg = strings.TrimPrefix(msg, "yaml: ")
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		l = strings.TrimSpace(l)
		// "field foo not found in type core.Config" → "unknown key foo (in core)"
		if k, rest, ok := strings.Cut(l, "field "); ok {
			if name, typ, ok := strings.Cut(rest, " not found in type "); ok {
				l = k + "unknown key " + strings.TrimSpace(name) + " (in " + strings.TrimSuffix(typ, ".Config") + ")"
			}
		}
		lines[i] = l
	}
	return strings.Join(lines, "; ")
}
