package data

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestWalkFolder(t *testing.T) {
	target, _ := fakeDataset(t, "a.h5", "sub/b.h5")
	other, _ := fakeDataset(t, "c.h5")
	dir := t.TempDir()
	link := filepath.Join(dir, "link") + string(filepath.Separator) // the root as given
	// A link inside the folder is listed, not entered.
	for _, l := range [][2]string{{target, filepath.Join(dir, "link")}, {other, filepath.Join(target, "inner")}} {
		if err := os.Symlink(l[0], l[1]); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := WalkFolder(link, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		got = append(got, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{link, filepath.Join(link, "a.h5"), filepath.Join(link, "inner"), filepath.Join(link, "sub"), filepath.Join(link, "sub", "b.h5")}
	if !slices.Equal(got, want) {
		t.Errorf("walked %v, want %v", got, want)
	}
	if err := WalkFolder(filepath.Join(dir, "missing"), func(string, fs.DirEntry, error) error { return nil }); err == nil {
		t.Error("a missing folder walked without error")
	}
}
