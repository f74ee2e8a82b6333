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

// Load reads and validates the config file at path, or the shipped config of that name
// ("small", "tiny", "paper", with or without ".yaml") when no such file exists.
func Load(path string) (File, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !strings.ContainsRune(path, os.PathSeparator) {
		if eb, eerr := configs.Files.ReadFile(strings.TrimSuffix(path, ".yaml") + ".yaml"); eerr == nil {
			b, err = eb, nil
		}
	}
	if err != nil {
		return File{}, fmt.Errorf("config %s: %w", path, errors.Unwrap(err))
	}
	f, err := Parse(b)
	if err != nil {
		return File{}, fmt.Errorf("config %s: %w", path, err)
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
