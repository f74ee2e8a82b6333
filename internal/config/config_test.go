package config

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/fmcore/fmcore/model"
)

func TestShippedConfigs(t *testing.T) {
	for _, name := range []string{"paper", "small", "tiny", "demo"} {
		t.Run(name, func(t *testing.T) {
			f, err := Load("../../configs/" + name + ".yaml")
			if err != nil {
				t.Fatal(err)
			}
			if name == "paper" && !reflect.DeepEqual(f.Model, model.Default()) {
				t.Errorf("paper.yaml differs from the released configuration:\n%+v\n%+v", f.Model, model.Default())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"unknown key", "model:\n  streams: 2\n  stream_count: 3\n", "line 3: unknown key stream_count (in model)"},
		{"unknown nested key", "model:\n  core:\n    recurrent:\n      hiden: 8\n", "unknown key hiden (in core.RecurrentConfig)"},
		{"unknown section", "trian:\n  epochs: 3\n", "unknown key trian"},
		{"wrong type", "model:\n  streams: many\n", "line 2: cannot unmarshal !!str `many` into int"},
		{"invalid value", "model:\n  streams: 0\n", "model.streams 0"},
		{"invalid choice", "model:\n  core:\n    recurrent:\n      type: gru\n", `core.recurrent.type "gru"`},
		{"zero retina scale", "model:\n  perspective:\n    retina_scale: 0\n", "perspective.retina_scale 0"},
		{"negative out gain", "model:\n  core:\n    recurrent:\n      out_gain: -1\n", "core.recurrent.out_gain -1"},
		{"dropout out of range", "model:\n  modulation:\n    dropout: 1\n", "modulation.dropout 1, want [0, 1)"},
		{"unknown position start", "train:\n  positions: rf\n", `train.positions "rf", want "center" or "rf_map"`},
		{"negative sessions per step", "train:\n  sessions_per_step: -1\n", "train.sessions_per_step -1, want 0 (every session) or more"},
		{"not yaml", "model: [\n", "did not find expected node content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
		})
	}
}

func TestEmptyFileIsReleasedConfig(t *testing.T) {
	f, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Model, model.Default()) {
		t.Error("an empty file does not give the released configuration")
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	f, err := Load("../../configs/small.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	g, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f, g) {
		t.Error("marshal → parse changes the config")
	}
}

// FuzzParse checks that no input makes the loader panic and that whatever it accepts
// validates and survives a round trip.
func FuzzParse(f *testing.F) {
	f.Add([]byte("model:\n  streams: 2\n"))
	f.Add([]byte("model:\n  core:\n    feedforward:\n      channels: [4, 8]\n"))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, text []byte) {
		c, err := Parse(text)
		if err != nil {
			return
		}
		if err := c.Model.Validate(); err != nil {
			t.Fatalf("accepted an invalid config: %v", err)
		}
		b, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(b); err != nil {
			t.Fatalf("round trip of an accepted config fails: %v", err)
		}
	})
}

// TestBareNameIsShipped checks that "demo" names the shipped config even where a folder
// of that name exists (make demo writes one), and that a path names a file.
func TestBareNameIsShipped(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Mkdir("demo", 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Load("demo"); err != nil {
		t.Fatalf("Load(demo) with a demo folder present: %v", err)
	}
	if _, err := Load("./demo"); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("Load(./demo): error %v, want the folder's read error", err)
	}
	if _, err := Load("nosuch"); err == nil || !strings.Contains(err.Error(), "config nosuch: no such file") {
		t.Fatalf("Load(nosuch): error %v", err)
	}
}
