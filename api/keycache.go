package api

import (
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/crossdock/crossdock/logistics"
)

// Defaults of the API-key cache (Config.KeyCacheTTL, Config.KeyCacheSize).
const (
	// defaultKeyCacheTTL is how long a key found in the database is trusted
	// without asking again, and so the longest a key rotated away by another
	// process (`crossdock merchant rotate-key`) keeps working in this one.
	defaultKeyCacheTTL = 10 * time.Second
	// defaultKeyCacheSize bounds the keys remembered; the least recently
	// used goes first.
	defaultKeyCacheSize = 10_000
	// unknownKeyTTL is how long a key the database does not know is
	// remembered as unknown, and unknownKeyCacheSize how many are: a client
	// looping on a dead key costs one query a second rather than one per
	// request, while a flood of guesses only churns this small, separate
	// cache (it cannot evict good keys) and is forgotten within a second.
	unknownKeyTTL       = time.Second
	unknownKeyCacheSize = 1_024
)

// keyCache remembers API-key lookups for a short time, so that a busy
// merchant's requests do not each query the merchants table. It is safe for
// concurrent use.
//
// Entries are keyed by store.HashAPIKey of the key, never the key itself:
// memory holds nothing the database does not. The caller hashes every
// presented key before asking, so a guess costs the same hashing whether the
// cache answers or not. Database errors are never cached.
//
// An entry lives at most its TTL from the lookup that made it (a hit does not
// extend it): that TTL is the revocation delay of a rotated key. Keys are
// only created and rotated by the CLI (`crossdock merchant`) and by `dev`
// before it serves, never by a running API, so there is no in-process change
// to invalidate; a route that rotates keys would have to drop the old hash
// from the cache of every API process, or live with the delay.
type keyCache struct {
	found   *expirable.LRU[string, logistics.Merchant]
	unknown *expirable.LRU[string, struct{}]
}

// newKeyCache returns a cache keeping up to size found keys for ttl each, or
// nil (no caching) when ttl is negative. Each of its two LRUs runs a
// goroutine sweeping expired entries for the life of the process (the
// library offers no way to stop it), so make one per Server.
func newKeyCache(ttl time.Duration, size int) *keyCache {
	if ttl < 0 {
		return nil
	}
	if ttl == 0 {
		ttl = defaultKeyCacheTTL
	}
	if size <= 0 {
		size = defaultKeyCacheSize
	}
	return &keyCache{
		found:   expirable.NewLRU[string, logistics.Merchant](size, nil, ttl),
		unknown: expirable.NewLRU[string, struct{}](unknownKeyCacheSize, nil, min(ttl, unknownKeyTTL)),
	}
}

// keyAnswer is what the cache remembers of a key hash.
type keyAnswer int

const (
	keyNotCached keyAnswer = iota // ask the store
	keyValid                      // the merchant returned with it
	keyInvalid                    // no merchant has this key
)

// lookup answers what is remembered of a key hash. Peek and Get both treat
// an expired entry as absent, even before the sweeper removes it.
func (k *keyCache) lookup(hash string) (logistics.Merchant, keyAnswer) {
	if k == nil {
		return logistics.Merchant{}, keyNotCached
	}
	if m, ok := k.found.Get(hash); ok {
		return m, keyValid
	}
	if _, ok := k.unknown.Peek(hash); ok {
		return logistics.Merchant{}, keyInvalid
	}
	return logistics.Merchant{}, keyNotCached
}

// remember records that hash belongs to m.
func (k *keyCache) remember(hash string, m logistics.Merchant) {
	if k == nil {
		return
	}
	k.unknown.Remove(hash)
	k.found.Add(hash, m)
}

// rememberUnknown records that no merchant has hash.
func (k *keyCache) rememberUnknown(hash string) {
	if k == nil {
		return
	}
	k.unknown.Add(hash, struct{}{})
}
