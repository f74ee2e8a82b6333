package data

import (
	"io/fs"
	"path/filepath"
)

// WalkFolder walks the file tree of folder dir as filepath.WalkDir does (the root is
// passed to fn as dir, everything below it as filepath.Join(dir, …)), but dir may be a
// symbolic link to the folder, which WalkDir would not enter. Links below dir are not
// followed. A dir that does not resolve is returned as the error, without calling fn.
func WalkFolder(dir string, fn fs.WalkDirFunc) error {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if p == root {
			return fn(dir, d, err)
		}
		rel, rerr := filepath.Rel(root, p)
		if rerr != nil {
			return rerr
		}
		return fn(filepath.Join(dir, rel), d, err)
	})
}
