package video

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// Cache keeps decoded clips on disk, one file per (video content, Params), so that each
// video is decoded once however many epochs, runs or processes read it.
//
// Key: SHA-256 of the video's bytes, combined with Params and the decode recipe
// (recipeVersion). A content hash rather than path + size + mtime because (1) stimulus
// sets repeat the same clip under many names, across tiers and mice (PEERS.md section 1:
// "videos are duplicated across tiers and datasets"), and these share one entry; (2) a
// dataset folder can be moved or copied without invalidating anything; (3) it cannot be
// fooled by a rewrite that keeps the size and lands within the file system's mtime
// granularity, or by tools that restore mtimes. The price is reading the video once per
// lookup, a small fraction of one decode (SHA-256 runs at GB/s; stimulus clips are MBs).
//
// Concurrency: an entry is written to a unique temporary file in the cache folder and
// renamed into place, so a reader sees either no entry or a complete one, also when
// several processes fill the same entry at once (the last rename wins; all are
// identical). Within one Cache, concurrent requests for the same missing entry share one
// decode. A Cache is safe for concurrent use.
//
// Integrity: each entry starts with a header (magic, version, W, H, rate, frame count,
// key, checksums). An entry with a wrong header, key or length, or, when Frames reads it
// whole, a wrong payload checksum, is decoded again and replaced rather than trusted.
type Cache struct {
	dir string

	mu      sync.Mutex
	flights map[string]*flight // entry file → the fill in progress

	decodes atomic.Int64 // fills started; read by tests to tell hits from misses
}

// flight is one fill of an entry that other callers of the same Cache may wait for.
type flight struct {
	done chan struct{}
	err  error
}

// recipeVersion names the decode recipe (filter chain, pixel format, timing rule). It is
// part of every key: change it whenever decodeStream changes what it outputs, and old
// entries stop matching.
const recipeVersion = "fmcore/video decode v1: settb=AVTB,setpts-eps,fps round=up,gray,scale area|bicubic"

// NewCache returns a cache in dir, creating the folder if needed.
func NewCache(dir string) (*Cache, error) {
	if dir == "" {
		return nil, errors.New("frame cache: empty folder name")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("frame cache: %w", err)
	}
	return &Cache{dir: dir, flights: make(map[string]*flight)}, nil
}

// DefaultCacheDir returns the per-user frame cache folder, $XDG_CACHE_HOME/fmcore/frames
// or ~/.cache/fmcore/frames on Linux (os.UserCacheDir elsewhere). It does not create it.
func DefaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("frame cache folder: %w (set $XDG_CACHE_HOME or pass a folder)", err)
	}
	return filepath.Join(d, "fmcore", "frames"), nil
}

// Dir returns the cache folder.
func (c *Cache) Dir() string { return c.dir }

// Frames returns every frame of the video at path decoded to p ([T,H,W] row-major) and
// T, decoding only when no valid entry exists. The whole entry is read and its payload
// checksum verified; use Open to read windows of long videos instead.
func (c *Cache) Frames(ctx context.Context, path string, p Params) ([]byte, int, error) {
	for attempt := 0; ; attempt++ {
		e, err := c.Open(ctx, path, p)
		if err != nil {
			return nil, 0, err
		}
		frames, err := e.readAll()
		_ = e.Close() // read-only; nothing to flush
		if err == nil {
			return frames, e.n, nil
		}
		if !errors.Is(err, errBadEntry) || attempt > 0 {
			return nil, 0, err
		}
		// A header that checks out over a corrupt payload: decode again and replace it.
		key, file, kerr := c.key(path, p)
		if kerr != nil {
			return nil, 0, kerr
		}
		if err := c.fill(ctx, path, file, key, p); err != nil {
			return nil, 0, err
		}
	}
}

// Open returns the entry of the video at path decoded to p, decoding first when no valid
// entry exists (streaming into the entry, in constant memory). The caller must Close it.
func (c *Cache) Open(ctx context.Context, path string, p Params) (*Entry, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("frame cache %s: %w", path, err)
	}
	key, file, err := c.key(path, p)
	if err != nil {
		return nil, err
	}
	e, err := openEntry(file, path, key, p)
	if err == nil {
		return e, nil
	}
	if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, errBadEntry) {
		return nil, err
	}
	if err := c.fill(ctx, path, file, key, p); err != nil {
		return nil, err
	}
	return openEntry(file, path, key, p)
}

// key hashes the video's bytes with p and the recipe; it returns the key and the entry's
// file name.
func (c *Cache) key(path string, p Params) (key [sha256.Size]byte, file string, err error) {
	if err := checkFile(path); err != nil {
		return key, "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return key, "", fmt.Errorf("frame cache: %w", err)
	}
	defer f.Close()
	content := sha256.New()
	if _, err := io.Copy(content, f); err != nil {
		return key, "", fmt.Errorf("frame cache: hash video %s: %w", path, err)
	}
	h := sha256.New()
	h.Write([]byte(recipeVersion))
	h.Write(content.Sum(nil))
	var b [16]byte
	binary.LittleEndian.PutUint32(b[0:], uint32(p.Width))
	binary.LittleEndian.PutUint32(b[4:], uint32(p.Height))
	binary.LittleEndian.PutUint64(b[8:], math.Float64bits(p.RateHz))
	h.Write(b[:])
	h.Sum(key[:0])
	return key, filepath.Join(c.dir, hex.EncodeToString(key[:])+entryExt), nil
}

// fill decodes the video into the entry file, sharing the work with concurrent callers
// for the same entry. A caller whose own context is live retries when the fill it waited
// for was cancelled by its starter's context.
func (c *Cache) fill(ctx context.Context, video, file string, key [sha256.Size]byte, p Params) error {
	for {
		c.mu.Lock()
		f, running := c.flights[file]
		if !running {
			f = &flight{done: make(chan struct{})}
			c.flights[file] = f
		}
		c.mu.Unlock()
		if !running {
			f.err = c.decodeTo(ctx, video, file, key, p)
			c.mu.Lock()
			delete(c.flights, file)
			c.mu.Unlock()
			close(f.done)
			return f.err
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return fmt.Errorf("frame cache %s: %w", video, ctx.Err())
		}
		canceled := errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)
		if !canceled || ctx.Err() != nil {
			return f.err
		}
	}
}

// decodeTo decodes the video to a temporary file beside the entry and renames it into
// place: readers never see a partial entry.
func (c *Cache) decodeTo(ctx context.Context, video, file string, key [sha256.Size]byte, p Params) (err error) {
	c.decodes.Add(1)
	d, err := Open(ctx, video, p)
	if err != nil {
		return err
	}
	defer d.Close()
	tmp, err := os.CreateTemp(c.dir, filepath.Base(file)+".*.tmp")
	if err != nil {
		return fmt.Errorf("frame cache: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	// Readable by all, like the videos (CreateTemp makes files private), so that a cache
	// folder can be shared.
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("frame cache: %w", err)
	}
	w := bufio.NewWriterSize(tmp, 1<<20)
	h := header{width: p.Width, height: p.Height, rateHz: p.RateHz, key: key}
	if _, err := w.Write(make([]byte, headerSize)); err != nil { // placeholder, rewritten below
		return fmt.Errorf("frame cache: write %s: %w", tmp.Name(), err)
	}
	frame := make([]byte, p.FrameBytes())
	for {
		err := d.Next(frame)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		h.payloadCRC = crcUpdate(h.payloadCRC, frame)
		h.frames++
		if _, err := w.Write(frame); err != nil {
			return fmt.Errorf("frame cache: write %s: %w", tmp.Name(), err)
		}
	}
	// The key was computed before ffmpeg read the file; if the file was rewritten since,
	// these frames belong to other content and must not be stored under that key.
	if now, _, err := c.key(video, p); err != nil {
		return err
	} else if now != key {
		return fmt.Errorf("frame cache %s: the video changed while it was being decoded; read it again", video)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("frame cache: write %s: %w", tmp.Name(), err)
	}
	if _, err := tmp.WriteAt(h.marshal(), 0); err != nil {
		return fmt.Errorf("frame cache: write %s: %w", tmp.Name(), err)
	}
	// Sync before the rename, so that after a crash the name never points at missing data.
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("frame cache: sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("frame cache: close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("frame cache: %w", err)
	}
	return nil
}
