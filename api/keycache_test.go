package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

func withKeyCacheTTL(ttl time.Duration) func(*Config) {
	return func(c *Config) { c.KeyCacheTTL = ttl }
}

// TestKeyCacheSparesTheStoreUntilTheTTL: a key is looked up once per TTL;
// a key rotated away keeps working until its entry expires (the documented
// revocation delay) and not a moment after.
func TestKeyCacheSparesTheStoreUntilTheTTL(t *testing.T) {
	const ttl = time.Second // long enough for a loaded machine to send five requests within it
	h := newHarness(t, withKeyCacheTTL(ttl))
	seedOrders(h)
	get := func() int {
		return h.do(http.MethodGet, "/v1/orders/TT-1/tracking", nil, bearer(merchantKeyDemo)).Code
	}
	start := time.Now()
	for range 5 {
		require.Equal(t, http.StatusOK, get())
	}
	assert.Equal(t, 1, h.store.keyLookupCount(), "one lookup serves every request within the TTL")

	h.store.dropKey(merchantKeyDemo)
	if time.Since(start) < ttl/2 {
		assert.Equal(t, http.StatusOK, get(), "within the TTL the rotated key still works")
	}
	time.Sleep(ttl - time.Since(start) + 20*time.Millisecond)
	assert.Equal(t, http.StatusUnauthorized, get(), "after the TTL the rotated key is refused")
	assert.Equal(t, 2, h.store.keyLookupCount())
}

// TestKeyCacheUnknownKeys: an unknown key is remembered briefly (a client
// looping on a dead key does not query per request), then asked again; a
// key created meanwhile is found once that short entry expires.
func TestKeyCacheUnknownKeys(t *testing.T) {
	const ttl = 500 * time.Millisecond // unknown keys: min(ttl, 1s)
	h := newHarness(t, withKeyCacheTTL(ttl))
	seedOrders(h)
	const late = "cdk_created_later"
	for range 3 {
		rec := h.do(http.MethodGet, "/v1/orders/TT-1/tracking", nil, bearer(late))
		require.Equal(t, http.StatusUnauthorized, rec.Code)
		assert.Equal(t, `Bearer realm="crossdock"`, rec.Header().Get("WWW-Authenticate"))
	}
	assert.Equal(t, 1, h.store.keyLookupCount())

	h.store.mu.Lock()
	h.store.keys[store.HashAPIKey(late)] = "m_demo"
	h.store.mu.Unlock()
	time.Sleep(ttl + 20*time.Millisecond)
	assert.Equal(t, http.StatusOK, h.do(http.MethodGet, "/v1/orders/TT-1/tracking", nil, bearer(late)).Code)
	assert.Equal(t, 2, h.store.keyLookupCount())
}

// TestKeyCacheNeverCachesStoreErrors: a database failure answers 503 and
// is asked again on the next request.
func TestKeyCacheNeverCachesStoreErrors(t *testing.T) {
	h := newHarness(t)
	seedOrders(h)
	h.store.setErr(errors.New("connection refused"))
	for range 2 {
		rec := h.do(http.MethodGet, "/v1/orders/TT-1/tracking", nil, bearer(merchantKeyDemo))
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
	}
	assert.Equal(t, 2, h.store.keyLookupCount())
	h.store.setErr(nil)
	require.Equal(t, http.StatusOK, h.do(http.MethodGet, "/v1/orders/TT-1/tracking", nil, bearer(merchantKeyDemo)).Code)
	assert.Equal(t, 3, h.store.keyLookupCount())
}

// TestKeyCacheOff: a negative TTL looks every key up.
func TestKeyCacheOff(t *testing.T) {
	h := newHarness(t, withKeyCacheTTL(-1))
	seedOrders(h)
	for range 3 {
		require.Equal(t, http.StatusOK, h.do(http.MethodGet, "/v1/orders/TT-1/tracking", nil, bearer(merchantKeyDemo)).Code)
	}
	assert.Equal(t, 3, h.store.keyLookupCount())
	assert.Nil(t, h.srv.keys)
}

// TestKeyCacheKeepsNoRawKey: what the cache holds is the keys' SHA-256,
// for valid and invalid keys alike, never the bearer token.
func TestKeyCacheKeepsNoRawKey(t *testing.T) {
	h := newHarness(t)
	seedOrders(h)
	const wrong = "cdk_not_a_key_of_anyone"
	require.Equal(t, http.StatusOK, h.do(http.MethodGet, "/v1/orders/TT-1/tracking", nil, bearer(merchantKeyDemo)).Code)
	require.Equal(t, http.StatusUnauthorized, h.do(http.MethodGet, "/v1/orders/TT-1/tracking", nil, bearer(wrong)).Code)

	assert.Equal(t, []string{store.HashAPIKey(merchantKeyDemo)}, h.srv.keys.found.Keys())
	assert.Equal(t, []string{store.HashAPIKey(wrong)}, h.srv.keys.unknown.Keys())
	for _, m := range h.srv.keys.found.Values() {
		assert.NotContains(t, fmt.Sprintf("%#v", m), merchantKeyDemo)
	}
	for _, k := range append(h.srv.keys.found.Keys(), h.srv.keys.unknown.Keys()...) {
		assert.NotContains(t, k, "cdk_")
	}
}

// TestKeyCacheIsBounded: the least recently used key goes first, and a
// flood of unknown keys cannot push a valid one out.
func TestKeyCacheIsBounded(t *testing.T) {
	k := newKeyCache(time.Minute, 2)
	for _, id := range []string{"m_1", "m_2", "m_3"} {
		k.remember(store.HashAPIKey(id), logistics.Merchant{ID: id})
	}
	assert.Equal(t, 2, k.found.Len())
	_, answer := k.lookup(store.HashAPIKey("m_1"))
	assert.Equal(t, keyNotCached, answer, "the oldest key was evicted")
	m, answer := k.lookup(store.HashAPIKey("m_3"))
	assert.Equal(t, keyValid, answer)
	assert.Equal(t, "m_3", m.ID)

	for i := range 3 * unknownKeyCacheSize {
		k.rememberUnknown(store.HashAPIKey(fmt.Sprintf("guess-%d", i)))
	}
	assert.Equal(t, unknownKeyCacheSize, k.unknown.Len())
	_, answer = k.lookup(store.HashAPIKey("m_3"))
	assert.Equal(t, keyValid, answer, "unknown keys live apart from valid ones")
	_, answer = k.lookup(store.HashAPIKey(fmt.Sprintf("guess-%d", 3*unknownKeyCacheSize-1)))
	assert.Equal(t, keyInvalid, answer)
}

// TestKeyCacheStillScopesByMerchant: with both merchants' keys warm in the
// cache, another merchant's order tracking answers exactly like a missing
// order.
func TestKeyCacheStillScopesByMerchant(t *testing.T) {
	h := newHarness(t)
	seedOrders(h)
	for _, key := range []string{merchantKeyDemo, merchantKeyOther} {
		h.do(http.MethodGet, "/v1/orders/TT-1/tracking", nil, bearer(key))
	}
	lookups := h.store.keyLookupCount()
	theirs := h.do(http.MethodGet, "/v1/orders/TT-1/tracking", nil, bearer(merchantKeyOther))
	missing := h.do(http.MethodGet, "/v1/orders/TT-NOBODY/tracking", nil, bearer(merchantKeyOther))
	require.Equal(t, http.StatusNotFound, theirs.Code)
	assert.Equal(t, missing.Body.String(), theirs.Body.String())
	assert.False(t, strings.Contains(theirs.Body.String(), "m_demo"))
	mine := h.do(http.MethodGet, "/v1/orders/TT-1/tracking", nil, bearer(merchantKeyDemo))
	require.Equal(t, http.StatusOK, mine.Code)
	assert.Equal(t, lookups, h.store.keyLookupCount(), "answered from the cache")
}
