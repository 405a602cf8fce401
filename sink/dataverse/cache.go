package dataverse

import (
	"container/list"
	"sync"
)

// DefaultCacheRows is how many rows' ETags and versions a sink remembers by default.
const DefaultCacheRows = 100_000

// rowCache remembers, for the rows this sink last read or wrote, what a read would return: the
// ETag and the version of the event that last wrote the row. An entry saves the read before a
// write: the write is conditional on the remembered ETag, and when anyone else changed the row
// meanwhile it fails with 412, the entry is dropped and the row is read again. It keeps the
// most recently used rows, up to its size; a size of 0 or less disables it.
type rowCache struct {
	mu    sync.Mutex
	size  int
	order *list.List // of *cacheEntry, most recently used first
	byKey map[string]*list.Element
}

type cacheEntry struct {
	key string
	cur current
}

func newRowCache(size int) *rowCache {
	return &rowCache{size: size, order: list.New(), byKey: make(map[string]*list.Element)}
}

// get returns the remembered state of the row whose key column holds key.
func (c *rowCache) get(key string) (current, bool) {
	if c.size <= 0 {
		return current{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		return current{}, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cacheEntry).cur, true
}

// put remembers cur, a row that exists, for key.
func (c *rowCache) put(key string, cur current) {
	if c.size <= 0 || !cur.found || cur.etag == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		e.Value.(*cacheEntry).cur = cur
		c.order.MoveToFront(e)
		return
	}
	c.byKey[key] = c.order.PushFront(&cacheEntry{key: key, cur: cur})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*cacheEntry).key)
	}
}

// drop forgets key: its row changed or went away.
func (c *rowCache) drop(key string) {
	if c.size <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.order.Remove(e)
		delete(c.byKey, key)
	}
}

// len returns the number of rows remembered.
func (c *rowCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
