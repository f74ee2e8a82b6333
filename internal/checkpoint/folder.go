package checkpoint

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Save writes a checkpoint folder with the strict default Options.
func Save(dir string, core File, sessions map[string]File) error {
	return Options{}.Save(dir, core, sessions)
}

// SaveSession adds or replaces one session's file with the strict default Options.
func SaveSession(dir, key string, f File) error {
	return Options{}.SaveSession(dir, key, f)
}

// LoadCore reads the shared weights of a checkpoint folder with the strict default Options.
func LoadCore(dir string) (File, error) {
	return Options{}.LoadCore(dir)
}

// LoadSession reads one session's weights from a checkpoint folder with the strict default
// Options.
func LoadSession(dir, key string) (File, error) {
	return Options{}.LoadSession(dir, key)
}

// Save writes a checkpoint folder: dir/core.fmck from core, dir/sessions/<key>.fmck for every
// entry of sessions and dir/config.yaml, a copy of core.Header.Config for people. It creates dir
// when needed. A header's Kind and Session may be left empty; Save fills them in (KindCore for
// core; KindSession and the map key for sessions) and refuses values that contradict them.
// Everything is checked before the first file is written. Each file is replaced atomically, in
// the order sessions, core, config; session files of dir that are not in sessions are left as
// they are.
func (o Options) Save(dir string, core File, sessions map[string]File) error {
	// Every header is encoded (and every tensor checked) before anything on disk changes.
	type pending struct {
		path    string
		head    []byte
		tensors []Tensor
	}
	keys := slices.Sorted(maps.Keys(sessions))
	files := make([]pending, 0, len(keys)+1)
	for _, key := range keys {
		if reason := sessionKeyProblem(key); reason != "" {
			return withPath(errorf(ErrInvalid, "", reason), "save", dir)
		}
		f := sessions[key]
		path := sessionPath(dir, key)
		head, err := o.prepare(&f.Header, KindSession, key, f.Tensors)
		if err != nil {
			return withPath(err, "save", path)
		}
		files = append(files, pending{path, head, f.Tensors})
	}
	corePath := filepath.Join(dir, CoreFile)
	head, err := o.prepare(&core.Header, KindCore, "", core.Tensors)
	if err != nil {
		return withPath(err, "save", corePath)
	}
	files = append(files, pending{corePath, head, core.Tensors})
	if err := os.MkdirAll(filepath.Join(dir, SessionsDir), 0o755); err != nil {
		return withPath(err, "save", dir)
	}
	for _, p := range files {
		err := writeAtomic(p.path, func(w io.Writer) error { return writeBody(w, p.head, p.tensors) })
		if err != nil {
			return withPath(err, "write", p.path)
		}
	}
	config := filepath.Join(dir, ConfigFile)
	err = writeAtomic(config, func(w io.Writer) error {
		_, err := io.WriteString(w, core.Header.Config)
		return err
	})
	return withPath(err, "write", config)
}

// SaveSession writes dir/sessions/<key>.fmck into an existing checkpoint folder, leaving
// core.fmck, config.yaml and the other sessions untouched: this is how a new mouse is added on
// a frozen core. f.Header's Kind and Session are filled in as by Save.
func (o Options) SaveSession(dir, key string, f File) error {
	if reason := sessionKeyProblem(key); reason != "" {
		return withPath(errorf(ErrInvalid, "", reason), "save", dir)
	}
	path := sessionPath(dir, key)
	head, err := o.prepare(&f.Header, KindSession, key, f.Tensors)
	if err != nil {
		return withPath(err, "save", path)
	}
	if _, err := ReadHeader(filepath.Join(dir, CoreFile)); err != nil {
		return notFolder(err, "save", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, SessionsDir), 0o755); err != nil {
		return withPath(err, "save", dir)
	}
	err = writeAtomic(path, func(w io.Writer) error { return writeBody(w, head, f.Tensors) })
	return withPath(err, "write", path)
}

// LoadCore reads dir/core.fmck and checks that it is a core file.
func (o Options) LoadCore(dir string) (File, error) {
	path := filepath.Join(dir, CoreFile)
	h, tensors, err := o.ReadFile(path)
	if err != nil {
		return File{}, notFolder(err, "load", dir)
	}
	if h.Kind != KindCore {
		return File{}, &Error{Op: "load", Path: path, Err: ErrCorrupt, Detail: fmt.Sprintf("kind %q, want %q", h.Kind, KindCore)}
	}
	return File{Header: h, Tensors: tensors}, nil
}

// LoadSession reads dir/sessions/<key>.fmck and checks that it is the file of that session. A
// missing session is an error wrapping fs.ErrNotExist that lists the sessions present.
func (o Options) LoadSession(dir, key string) (File, error) {
	if reason := sessionKeyProblem(key); reason != "" {
		return File{}, &Error{Op: "load", Path: dir, Err: ErrInvalid, Detail: reason}
	}
	path := sessionPath(dir, key)
	h, tensors, err := o.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		have, lerr := Sessions(dir)
		if lerr != nil {
			return File{}, lerr
		}
		return File{}, &Error{Op: "load", Path: dir, Err: err, Detail: fmt.Sprintf("no session %s (%s)", key, listKeys(have))}
	}
	if err != nil {
		return File{}, err
	}
	if h.Kind != KindSession || h.Session != key {
		return File{}, &Error{Op: "load", Path: path, Err: ErrCorrupt, Detail: fmt.Sprintf("kind %q of session %q, want session %q", h.Kind, h.Session, key)}
	}
	return File{Header: h, Tensors: tensors}, nil
}

// Sessions returns the session keys of the checkpoint folder dir, sorted: the names of the
// dir/sessions/*.fmck files. Hidden files (such as an interrupted write's temporary file) and
// names that are not session keys are ignored.
func Sessions(dir string) ([]string, error) {
	if _, err := os.Stat(filepath.Join(dir, CoreFile)); err != nil {
		return nil, notFolder(err, "list sessions of", dir)
	}
	entries, err := os.ReadDir(filepath.Join(dir, SessionsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	}
	if err != nil {
		return nil, withPath(err, "list sessions of", dir)
	}
	keys := []string{}
	for _, e := range entries {
		key, ok := strings.CutSuffix(e.Name(), Ext)
		if ok && e.Type().IsRegular() && sessionKeyProblem(key) == "" {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// prepare sets an empty Kind and Session of h to kind and key, refuses other values, and
// encodes the header of a file holding tensors.
func (o Options) prepare(h *Header, kind Kind, key string, tensors []Tensor) ([]byte, error) {
	if h.Kind == "" {
		h.Kind = kind
	}
	if h.Session == "" {
		h.Session = key
	}
	if h.Kind != kind || h.Session != key {
		return nil, errorf(ErrInvalid, "", fmt.Sprintf("header has kind %q and session %q, the file is for kind %q and session %q", h.Kind, h.Session, kind, key))
	}
	return o.encodeHeader(h, tensors)
}

// notFolder turns a missing core.fmck into ErrNotCheckpoint for the folder dir.
func notFolder(err error, op, dir string) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &Error{Op: op, Path: dir, Err: fmt.Errorf("%w: %w", ErrNotCheckpoint, err),
			Detail: "no " + CoreFile + ": not a checkpoint folder"}
	}
	return withPath(err, op, dir)
}

// sessionPath is the file of session key in the checkpoint folder dir.
func sessionPath(dir, key string) string {
	return filepath.Join(dir, SessionsDir, key+Ext)
}

// listKeys describes the sessions present, naming at most five.
func listKeys(keys []string) string {
	switch {
	case len(keys) == 0:
		return "the folder has no sessions"
	case len(keys) <= 5:
		return "sessions: " + strings.Join(keys, ", ")
	}
	return fmt.Sprintf("sessions: %s and %d more", strings.Join(keys[:5], ", "), len(keys)-5)
}
