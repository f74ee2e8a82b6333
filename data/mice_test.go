package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseMice(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    string // String() of the set, or the error's substring after "ERR "
		has     []int
		hasNot  []int
		wantAll bool
	}{
		{in: "all", want: "all", has: []int{1, 99}, wantAll: true},
		{in: "3", want: "3", has: []int{3}, hasNot: []int{2, 4}},
		{in: "1-14", want: "1-14", has: []int{1, 7, 14}, hasNot: []int{0, 15}},
		{in: "1,3,5-7", want: "1,3,5-7", has: []int{1, 3, 5, 6, 7}, hasNot: []int{2, 4, 8}},
		{in: " 5-7 , 1 ,6 ", want: "1,5-7", has: []int{1, 6}},
		{in: "1-3,4,2-5,9", want: "1-5,9", has: []int{4, 9}, hasNot: []int{6}},
		{in: "29515,29623", want: "29515,29623", has: []int{29515}},
		{in: "0-3", want: "ERR mouse ids start at 1"},
		{in: "0", want: "ERR mouse ids start at 1"},
		{in: "3-1", want: "ERR range 3-1 is empty"},
		{in: "", want: "ERR empty selection"},
		{in: "1,,2", want: "ERR empty item"},
		{in: "1-", want: `ERR "1-" is not a number or a range`},
		{in: "-2", want: `ERR "-2" is not a number or a range`},
		{in: "two", want: `ERR "two" is not a mouse number`},
		{in: "1-2-3", want: `ERR "2-3" is not a mouse number`},
		{in: "ALL", want: `ERR "ALL" is not a mouse number`},
	} {
		t.Run(c.in, func(t *testing.T) {
			m, err := ParseMice(c.in)
			if msg, isErr := strings.CutPrefix(c.want, "ERR "); isErr {
				if err == nil || !strings.Contains(err.Error(), msg) || strings.Contains(err.Error(), "\n") {
					t.Errorf("ParseMice(%q) = %v, %v; want a one-line error containing %q", c.in, m, err, msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.String() != c.want || m.All() != c.wantAll {
				t.Errorf("ParseMice(%q) = %q (all=%v), want %q", c.in, m, m.All(), c.want)
			}
			for _, n := range c.has {
				if !m.Contains(n) {
					t.Errorf("%q does not contain %d", c.in, n)
				}
			}
			for _, n := range c.hasNot {
				if m.Contains(n) {
					t.Errorf("%q contains %d", c.in, n)
				}
			}
			if back, err := ParseMice(m.String()); err != nil || back.String() != m.String() {
				t.Errorf("String does not round-trip: %q → %v, %v", m.String(), back, err)
			}
		})
	}
}

// fakeDataset writes empty files named like recordings and returns a header reader
// that derives the session from the file name "m<mouse>_s<session>.h5".
func fakeDataset(t *testing.T, names ...string) (string, func(string) (Recording, error)) {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	header := func(path string) (Recording, error) {
		var m, s string
		base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		if _, err := fmt.Sscanf(strings.Replace(base, "_", " ", 1), "m%s s%s", &m, &s); err != nil {
			return Recording{}, fmt.Errorf("%s: not a recording", path)
		}
		// A duplicate is spelled with a suffix after a dot in the session name.
		s, _, _ = strings.Cut(s, ".")
		return Recording{Session: SessionID{Mouse: m, Session: s}, Units: Units{ID: []int64{1, 2}}, Trials: make([]TrialInfo, 3)}, nil
	}
	return dir, header
}

func TestFindSessions(t *testing.T) {
	dir, header := fakeDataset(t, "m10_s1.h5", "m2_s2.h5", "m2_s10.h5", "sub/m2_s1.hdf5", "mx_s1.h5",
		"videos/a.mp4", ".m3_s1.h5.tmp-123", ".hidden/m4_s1.h5", "dataset.json")
	mice, err := FindSessions(dir, header)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range mice {
		var ss []string
		for _, s := range m.Sessions {
			ss = append(ss, s.Session.Session)
			if s.Units != 2 || s.Trials != 3 || !strings.HasPrefix(s.Path, dir) {
				t.Errorf("session %+v", s)
			}
		}
		got = append(got, m.ID+":"+strings.Join(ss, ","))
	}
	// Numeric ids sorted by value, then other ids; hidden files and folders skipped.
	if want := []string{"2:1,2,10", "10:1", "x:1"}; !slices.Equal(got, want) {
		t.Errorf("mice %v, want %v", got, want)
	}

	// A link to the folder finds the same sessions, under the link's path.
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	linked, err := FindSessions(link, header)
	if err != nil {
		t.Fatalf("through a link: %v", err)
	}
	if len(linked) != len(mice) {
		t.Fatalf("through a link: %d mice, want %d", len(linked), len(mice))
	}
	if p := linked[0].Sessions[0].Path; p != filepath.Join(link, "sub", "m2_s1.hdf5") {
		t.Errorf("through a link: first session at %s, want it under the link", p)
	}

	t.Run("select", func(t *testing.T) {
		for _, c := range []struct {
			sel  string
			want []string
			err  string
		}{
			{"all", []string{"2", "10", "x"}, ""},
			{"10,2", []string{"2", "10"}, ""},
			{"2", []string{"2"}, ""},
			{"1-2", nil, "mouse 1: mouse not in the dataset (it has mice 2,10,x)"},
			{"2,11", nil, "mouse 11"},
		} {
			set, err := ParseMice(c.sel)
			if err != nil {
				t.Fatal(err)
			}
			sel, err := SelectMice(mice, set)
			var ids []string
			for _, m := range sel {
				ids = append(ids, m.ID)
			}
			switch {
			case c.err != "" && (err == nil || !errors.Is(err, ErrUnknownMouse) || !strings.Contains(err.Error(), c.err)):
				t.Errorf("select %s: %v, want an error containing %q", c.sel, err, c.err)
			case c.err == "" && (err != nil || !slices.Equal(ids, c.want)):
				t.Errorf("select %s: %v, %v; want %v", c.sel, ids, err, c.want)
			}
		}
	})
}

func TestFindSessionsErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		files []string
		dir   string // relative to the dataset; "" is the dataset
		want  string
	}{
		{"no recordings", []string{"videos/a.mp4"}, "", "no recordings"},
		{"missing folder", nil, "nope", "no such file or directory"},
		{"a file", []string{"m1_s1.h5"}, "m1_s1.h5", "not a folder"},
		{"duplicate session", []string{"m1_s1.h5", "b/m1_s1.copy.h5"}, "", "session 1-1 is in two files"},
		{"bad header", []string{"junk.h5"}, "", "junk.h5: not a recording"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, header := fakeDataset(t, c.files...)
			_, err := FindSessions(filepath.Join(dir, c.dir), header)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line containing %q", err, c.want)
			}
		})
	}
}
