package video

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/fmcore/fmcore/data"
)

// A *Source is the data.FrameSource of the training pipeline.
var _ data.FrameSource = (*Source)(nil)

// Source reads windows of decoded frames from a Cache at fixed Params. It keeps the
// entries of the most recently used videos open (an LRU of bounded size, closing the
// ones it evicts), because Cache.Open hashes the whole video file on every call to find
// its entry: a loader reading window after window of the same clips should pay that
// once per clip, not once per window. Videos are assumed not to change while a Source
// has them open.
//
// A Source is safe for concurrent use; an entry evicted while another goroutine still
// reads it is closed when that read ends. Close it when done.
type Source struct {
	cache *Cache
	p     Params
	keep  int

	mu     sync.Mutex
	lru    *list.List               // of *heldEntry, most recently used first
	byPath map[string]*list.Element // video path → its element of lru
	closed bool
}

// heldEntry is one open cache entry and the reads in progress on it.
type heldEntry struct {
	path    string
	e       *Entry
	readers int  // reads in progress
	evicted bool // removed from the LRU: close when readers drops to 0
}

// NewSource returns a source of frames decoded to p through c, keeping up to keep
// entries open (at least 1; each costs one file descriptor).
func NewSource(c *Cache, p Params, keep int) (*Source, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("frame source: %w", err)
	}
	if keep < 1 {
		return nil, fmt.Errorf("frame source: keep %d open videos, want at least 1", keep)
	}
	return &Source{cache: c, p: p, keep: keep, lru: list.New(), byPath: make(map[string]*list.Element)}, nil
}

// Format returns the frame size and rate of p.
func (s *Source) Format() data.FrameFormat {
	return data.FrameFormat{Width: s.p.Width, Height: s.p.Height, RateHz: s.p.RateHz}
}

// Frames writes frames [start, start+n) of the video at path into dst[:n·H·W], decoding
// the video into the cache first when it has no entry yet.
func (s *Source) Frames(ctx context.Context, path string, start, n int, dst []byte) error {
	oe, err := s.acquire(ctx, path)
	if err != nil {
		return err
	}
	err = oe.e.ReadFrames(start, n, dst)
	if rerr := s.release(oe); err == nil {
		err = rerr
	}
	return err
}

// acquire returns the open entry of path, opening it (outside the lock: it may decode)
// and evicting the least recently used entry when needed.
func (s *Source) acquire(ctx context.Context, path string) (*heldEntry, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, fmt.Errorf("frame source: read %s: source is closed", path)
	}
	if el, ok := s.byPath[path]; ok {
		s.lru.MoveToFront(el)
		oe := el.Value.(*heldEntry)
		oe.readers++
		s.mu.Unlock()
		return oe, nil
	}
	s.mu.Unlock()

	e, err := s.cache.Open(ctx, path, s.p)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = e.Close()
		return nil, fmt.Errorf("frame source: read %s: source is closed", path)
	}
	if el, ok := s.byPath[path]; ok { // another goroutine opened it meanwhile
		_ = e.Close()
		s.lru.MoveToFront(el)
		oe := el.Value.(*heldEntry)
		oe.readers++
		return oe, nil
	}
	oe := &heldEntry{path: path, e: e, readers: 1}
	s.byPath[path] = s.lru.PushFront(oe)
	var errs []error
	for s.lru.Len() > s.keep {
		errs = append(errs, s.evict(s.lru.Back()))
	}
	if err := errors.Join(errs...); err != nil {
		oe.readers--
		return nil, err
	}
	return oe, nil
}

// release ends one read of oe, closing it if it was evicted meanwhile.
func (s *Source) release(oe *heldEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	oe.readers--
	if oe.evicted && oe.readers == 0 {
		return oe.close()
	}
	return nil
}

// evict removes el from the LRU and closes its entry unless a read is in progress.
// The caller holds s.mu.
func (s *Source) evict(el *list.Element) error {
	oe := s.lru.Remove(el).(*heldEntry)
	delete(s.byPath, oe.path)
	oe.evicted = true
	if oe.readers == 0 {
		return oe.close()
	}
	return nil
}

func (oe *heldEntry) close() error {
	if err := oe.e.Close(); err != nil {
		return fmt.Errorf("frame source: close cache entry of %s: %w", oe.path, err)
	}
	return nil
}

// OpenEntries returns the number of entries the LRU holds now, at most keep (evicted
// entries whose last read has not ended are not counted).
func (s *Source) OpenEntries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lru.Len()
}

// Close closes every entry; entries still being read close when their read ends.
// Frames fails after Close.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var errs []error
	for s.lru.Len() > 0 {
		errs = append(errs, s.evict(s.lru.Front()))
	}
	return errors.Join(errs...)
}
