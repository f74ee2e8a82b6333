package checkpoint

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// sessionFile returns a session's perspective, modulation and readout tensors for U units.
func sessionFile(seed uint64, units int) File {
	rng := rand.New(rand.NewPCG(seed, 11))
	h := sampleHeader()
	h.Kind, h.Metadata = "", map[string]string{"units": "x"}
	return File{Header: h, Tensors: []Tensor{
		randomTensor(rng, "perspective.eye.0.weight", 16, 2, 1, 1, 1),
		randomTensor(rng, "modulation.mlp.weight.0", 16, 2, 1, 1, 1),
		randomTensor(rng, "readout.mu", units, 2),
		randomTensor(rng, "readout.features.0", units, 8),
	}}
}

// coreFile returns the sample core with its header's Kind left for Save to fill.
func coreFile() File {
	h := sampleHeader()
	h.Kind = ""
	return File{Header: h, Tensors: sampleTensors(1)}
}

func TestSaveLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ckpt") // Save creates the folder
	sessions := map[string]File{"7-2": sessionFile(2, 30), "7-1": sessionFile(1, 20)}
	if err := Save(dir, coreFile(), sessions); err != nil {
		t.Fatal(err)
	}
	core, err := LoadCore(dir)
	if err != nil {
		t.Fatal(err)
	}
	sameTensors(t, core.Tensors, coreFile().Tensors)
	if core.Header.Kind != KindCore || core.Header.Session != "" {
		t.Fatalf("core kind %q session %q", core.Header.Kind, core.Header.Session)
	}
	keys, err := Sessions(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"7-1", "7-2"}) {
		t.Fatalf("sessions %v, want [7-1 7-2]", keys)
	}
	for key, want := range sessions {
		got, err := LoadSession(dir, key)
		if err != nil {
			t.Fatal(err)
		}
		sameTensors(t, got.Tensors, want.Tensors)
		if got.Header.Kind != KindSession || got.Header.Session != key || got.Header.Metadata["units"] != "x" {
			t.Fatalf("session %s header %+v", key, got.Header)
		}
	}
	config, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if string(config) != sampleConfig {
		t.Fatalf("config.yaml %q, want %q", config, sampleConfig)
	}
}

// TestSaveSessionKeepsCore adds a mouse to a frozen core: core.fmck and config.yaml must stay
// byte-identical with their modification times unchanged.
func TestSaveSessionKeepsCore(t *testing.T) {
	dir := t.TempDir()
	if err := Save(dir, coreFile(), map[string]File{"7-1": sessionFile(1, 20)}); err != nil {
		t.Fatal(err)
	}
	// Move the times into the past, so that a rewrite within the file system's timestamp
	// granularity would still show.
	past := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	kept := []string{filepath.Join(dir, CoreFile), filepath.Join(dir, ConfigFile), sessionPath(dir, "7-1")}
	before := make([][]byte, len(kept))
	for i, p := range kept {
		if err := os.Chtimes(p, past, past); err != nil {
			t.Fatal(err)
		}
		before[i], _ = os.ReadFile(p)
	}
	added := sessionFile(9, 50)
	if err := SaveSession(dir, "9-3", added); err != nil {
		t.Fatal(err)
	}
	for i, p := range kept {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		after, _ := os.ReadFile(p)
		if !st.ModTime().Equal(past) || !bytes.Equal(before[i], after) {
			t.Fatalf("%s changed (mtime %v) when a session was added", p, st.ModTime())
		}
	}
	got, err := LoadSession(dir, "9-3")
	if err != nil {
		t.Fatal(err)
	}
	sameTensors(t, got.Tensors, added.Tensors)
	keys, _ := Sessions(dir)
	if !slices.Equal(keys, []string{"7-1", "9-3"}) {
		t.Fatalf("sessions %v", keys)
	}
}

func TestSaveSessionNeedsCheckpoint(t *testing.T) {
	dir := t.TempDir()
	err := SaveSession(dir, "7-1", sessionFile(1, 5))
	wantErr(t, err, ErrNotCheckpoint, "save "+dir, "no core.fmck")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%v does not wrap fs.ErrNotExist", err)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Fatalf("a refused save left %v", names)
	}
}

func TestSaveRefusesBeforeWriting(t *testing.T) {
	nan := sessionFile(3, 5)
	nan.Tensors[2].Data[4] = float32(math.NaN())
	wrongKind := sessionFile(4, 5)
	wrongKind.Header.Kind = KindCore
	otherKey := sessionFile(5, 5)
	otherKey.Header.Session = "7-2"
	sessionCore := coreFile()
	sessionCore.Header.Kind = KindSession
	tests := []struct {
		name     string
		core     File
		sessions map[string]File
		want     error
		parts    []string
	}{
		{"bad session key", coreFile(), map[string]File{"7/1": sessionFile(1, 5)}, ErrInvalid, []string{`session key "7/1" may only hold letters`}},
		{"hidden session key", coreFile(), map[string]File{".7-1": sessionFile(1, 5)}, ErrInvalid, []string{"starts with '.'"}},
		{"NaN in a session", coreFile(), map[string]File{"7-1": sessionFile(1, 5), "7-3": nan}, ErrNonFinite, []string{"7-3.fmck", "tensor readout.mu"}},
		{"session header of kind core", coreFile(), map[string]File{"7-1": wrongKind}, ErrInvalid, []string{`kind "core"`}},
		{"session header of another session", coreFile(), map[string]File{"7-1": otherKey}, ErrInvalid, []string{`session "7-2"`}},
		{"core header of kind session", sessionCore, nil, ErrInvalid, []string{"core.fmck", `kind "session"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := Save(dir, coreFile(), map[string]File{"7-1": sessionFile(1, 5)}); err != nil {
				t.Fatal(err)
			}
			core, _ := os.ReadFile(filepath.Join(dir, CoreFile))
			session, _ := os.ReadFile(sessionPath(dir, "7-1"))
			wantErr(t, Save(dir, tc.core, tc.sessions), tc.want, tc.parts...)
			coreAfter, _ := os.ReadFile(filepath.Join(dir, CoreFile))
			sessionAfter, _ := os.ReadFile(sessionPath(dir, "7-1"))
			if !bytes.Equal(core, coreAfter) || !bytes.Equal(session, sessionAfter) {
				t.Fatal("a refused save changed the folder")
			}
			if keys, _ := Sessions(dir); !slices.Equal(keys, []string{"7-1"}) {
				t.Fatalf("a refused save left sessions %v", keys)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if err := Save(dir, coreFile(), map[string]File{"7-1": sessionFile(1, 5), "7-2": sessionFile(2, 5)}); err != nil {
		t.Fatal(err)
	}
	// A session file copied under another key, and a session file where the core belongs.
	b, _ := os.ReadFile(sessionPath(dir, "7-1"))
	if err := os.WriteFile(sessionPath(dir, "8-1"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	swapped := filepath.Join(t.TempDir(), "swapped")
	if err := os.MkdirAll(swapped, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(swapped, CoreFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	t.Run("missing session lists the others", func(t *testing.T) {
		_, err := LoadSession(dir, "9-9")
		wantErr(t, err, fs.ErrNotExist, "load "+dir, "no session 9-9 (sessions: 7-1, 7-2, 8-1)")
	})
	t.Run("session file under another key", func(t *testing.T) {
		_, err := LoadSession(dir, "8-1")
		wantErr(t, err, ErrCorrupt, "8-1.fmck", `session "7-1", want session "8-1"`)
	})
	t.Run("invalid key", func(t *testing.T) {
		_, err := LoadSession(dir, "../core")
		wantErr(t, err, ErrInvalid, "load "+dir, `session key "../core" starts with`)
	})
	t.Run("core file of kind session", func(t *testing.T) {
		_, err := LoadCore(swapped)
		wantErr(t, err, ErrCorrupt, filepath.Join(swapped, CoreFile), `kind "session", want "core"`)
	})
	t.Run("folder without a core", func(t *testing.T) {
		_, err := LoadCore(empty)
		wantErr(t, err, ErrNotCheckpoint, "load "+empty, "no core.fmck: not a checkpoint folder")
		_, err = Sessions(empty)
		wantErr(t, err, ErrNotCheckpoint, empty)
	})
}

func TestSessionsIgnoresOtherFiles(t *testing.T) {
	dir := t.TempDir()
	if err := Save(dir, coreFile(), map[string]File{"7-1": sessionFile(1, 5)}); err != nil {
		t.Fatal(err)
	}
	sdir := filepath.Join(dir, SessionsDir)
	for _, name := range []string{".7-2.fmck.tmp-123", ".hidden.fmck", "notes.txt", "7-3.fmck.bak"} {
		if err := os.WriteFile(filepath.Join(sdir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(sdir, "7-4.fmck"), 0o755); err != nil {
		t.Fatal(err)
	}
	keys, err := Sessions(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"7-1"}) {
		t.Fatalf("sessions %v, want [7-1]", keys)
	}
	// A core saved with no sessions has none, and an empty list is not nil.
	bare := t.TempDir()
	if err := Save(bare, coreFile(), nil); err != nil {
		t.Fatal(err)
	}
	if keys, err := Sessions(bare); err != nil || keys == nil || len(keys) != 0 {
		t.Fatalf("sessions %#v, %v; want an empty list", keys, err)
	}
}
