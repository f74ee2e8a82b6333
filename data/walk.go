package data

import (
	"io/fs"
	"path/filepath"
)

// WalkFolder walks the file tree of folder dir as filepath.WalkDir does, but dir may be a
// symbolic link to the folder (WalkDir would not enter it): fn sees every path under dir,
// spelled from dir, whatever the link resolves to. Links below dir are not followed.
func WalkFolder(dir string, fn fs.WalkDirFunc) error {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		rel, rerr := filepath.Rel(root, p)
		if rerr != nil {
			return rerr
		}
		return fn(filepath.Join(dir, rel), d, err)
	})
}
