package api

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

// trackETA is the estimated delivery of trackView.
var trackETA = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// trackView is a consolidator's line haul handing over to a postal last
// mile, as the store answers it: events of both legs, newest first.
func trackView() store.PublicTrackingView {
	eta := trackETA
	return store.PublicTrackingView{
		Status: logistics.StatusInTransit, Phase: logistics.PhaseImportCustoms, Origin: "CN", Destination: "GB",
		EstimatedDelivery: &eta, Carrier: "sbx_consol", TrackingNumber: "CONSOL-1",
		Legs: []store.PublicLeg{
			{Sequence: 1, Kind: logistics.LegLineHaul, Carrier: "sbx_consol", TrackingNumber: "CONSOL-1", Status: logistics.StatusDelivered},
			{Sequence: 2, Kind: logistics.LegLastMile, Carrier: "sbx_post", TrackingNumber: "POST-1", Status: logistics.StatusInTransit},
		},
		Events: []store.PublicEvent{
			{Status: logistics.StatusInTransit, Phase: logistics.PhaseImportCustoms, OccurredAt: time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC),
				Location: logistics.Location{City: "London", Country: "GB"}, Carrier: "sbx_post", TrackingNumber: "POST-1"},
			{Status: logistics.StatusInTransit, Phase: logistics.PhaseLineHaul, OccurredAt: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC),
				Location: logistics.Location{City: "Hong Kong", Country: "HK"}, Carrier: "sbx_consol", TrackingNumber: "CONSOL-1"},
			{Status: logistics.StatusPickedUp, Phase: logistics.PhaseOrigin, OccurredAt: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC),
				Location: logistics.Location{City: "Shenzhen", Country: "CN"}, Carrier: "sbx_consol", TrackingNumber: "CONSOL-1"},
		},
	}
}

func newTrackHarness(t *testing.T, opts ...func(*Config)) *harness {
	t.Helper()
	h := newHarness(t, opts...)
	h.store.public["CONSOL-1"] = trackView()
	h.store.public["POST-1"] = trackView()
	return h
}

func (h *harness) track(number, acceptLanguage string) *httptest.ResponseRecorder {
	h.t.Helper()
	header := http.Header{}
	if acceptLanguage != "" {
		header.Set("Accept-Language", acceptLanguage)
	}
	return h.do(http.MethodGet, "/track/"+number, nil, header)
}

var htmlLangAttr = regexp.MustCompile(`<html lang="([^"]+)">`)

func TestTrackPageLanguages(t *testing.T) {
	tests := []struct {
		name, acceptLanguage, lang string
		want                       []string
	}{
		{"no header is English", "", "en",
			[]string{"In transit", "Import customs", "Estimated delivery", "November 28, 2026", "United Kingdom", "November 26, 2026, 9:30 am", "London, United Kingdom"}},
		{"German", "de", "de",
			[]string{"Unterwegs", "Einfuhrzoll", "Voraussichtliche Zustellung", "28. November 2026", "Vereinigtes Königreich", "26. November 2026, 09:30", "Sendungsverlauf"}},
		{"French", "fr-FR,fr;q=0.9", "fr",
			[]string{"En transit", "Douane à l’import", "Livraison estimée", "28 novembre 2026", "Royaume-Uni", "Étape\u00a0:"}},
		{"Spanish of Latin America", "es-419", "es",
			[]string{"En tránsito", "Aduana de importación", "Entrega estimada", "28 de noviembre de 2026", "Reino Unido"}},
		{"Chinese", "zh-CN,zh;q=0.9", "zh-Hans",
			[]string{"运输中", "进口清关", "预计送达", "2026年11月28日", "英国 London", "物流轨迹"}},
		{"Swiss German gets German", "de-CH", "de", []string{"Unterwegs"}},
		{"Traditional Chinese gets the Simplified page, the closest there is", "zh-TW", "zh-Hans", []string{"运输中"}},
		{"highest q-value wins", "en;q=0.2, de;q=0.9", "de", []string{"Unterwegs"}},
		{"order of the header does not matter, q does", "fr;q=0.5, es;q=0.8, en;q=0.1", "es", []string{"En tránsito"}},
		{"first supported of several", "nl, fr;q=0.4", "fr", []string{"En transit"}},
		{"q=0 means not acceptable", "de;q=0, fr", "fr", []string{"En transit"}},
		{"unsupported language falls back to English", "pt-BR", "en", []string{"In transit"}},
		{"wildcard falls back to English", "ja, *;q=0.1", "en", []string{"In transit"}},
		{"malformed header falls back to English", "de;q=abc;;", "en", []string{"In transit"}},
		{"oversized header falls back to English", "de," + strings.Repeat("x-", 400) + "de", "en", []string{"In transit"}},
	}
	h := newTrackHarness(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.track("CONSOL-1", tt.acceptLanguage)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.Equal(t, tt.lang, rec.Header().Get("Content-Language"))
			m := htmlLangAttr.FindStringSubmatch(rec.Body.String())
			require.NotNil(t, m)
			assert.Equal(t, tt.lang, m[1])
			for _, w := range tt.want {
				assert.Contains(t, rec.Body.String(), escapeText(w))
			}
		})
	}
}

// escapeText is how html/template writes s in text.
func escapeText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func TestTrackPageTranslatesEveryWord(t *testing.T) {
	h := newTrackHarness(t)
	en := h.srv.track.catalog.locales[0]
	for _, loc := range h.srv.track.catalog.locales {
		for _, s := range logistics.Statuses {
			word := loc.status(s)
			assert.NotEmpty(t, word)
			assert.NotEqual(t, string(s), word, "%s has no word for %s", loc.htmlLang, s)
			if loc != en {
				assert.NotEqual(t, en.status(s), word, "%s shows %s in English", loc.htmlLang, s)
			}
		}
		for _, p := range logistics.Phases {
			word := loc.phase(p)
			assert.NotEqual(t, string(p), word, "%s has no word for %s", loc.htmlLang, p)
			if loc != en {
				assert.NotEqual(t, en.phase(p), word, "%s shows %s in English", loc.htmlLang, p)
			}
		}
	}

	t.Run("each status is the page's heading", func(t *testing.T) {
		for _, s := range logistics.Statuses {
			v := trackView()
			v.Status = s
			h.store.public["CONSOL-1"] = v
			rec := h.track("CONSOL-1", "de")
			require.Equal(t, http.StatusOK, rec.Code)
			assert.Contains(t, rec.Body.String(), `<h1 id="status">`+escapeText(h.srv.track.catalog.locales[1].status(s))+`</h1>`)
		}
	})
}

func TestTrackCatalogRefusesIncompleteTranslations(t *testing.T) {
	files := fstest.MapFS{}
	for _, lang := range []string{"en", "de", "fr", "es", "zh"} {
		body, err := trackAssets.ReadFile("trackpage/messages/" + lang + ".toml")
		require.NoError(t, err)
		files["trackpage/messages/"+lang+".toml"] = &fstest.MapFile{Data: body}
	}
	_, err := loadTrackCatalog(files)
	require.NoError(t, err, "the shipped files are complete")

	de := string(files["trackpage/messages/de.toml"].Data)
	files["trackpage/messages/de.toml"] = &fstest.MapFile{Data: []byte(
		strings.Replace(strings.Replace(de, `out_for_delivery = "In Zustellung"`, "", 1), "[notfound]", "[notfound]\nstale = \"x\"", 1))}
	_, err = loadTrackCatalog(files)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "de.toml lacks status.out_for_delivery")
	assert.Contains(t, err.Error(), "de.toml has notfound.stale, which en.toml does not")
}

func TestTrackPageShowsTheJourney(t *testing.T) {
	h := newTrackHarness(t)
	for _, number := range []string{"CONSOL-1", "POST-1"} {
		rec := h.track(number, "en")
		require.Equal(t, http.StatusOK, rec.Code)
		body := rec.Body.String()
		assert.Contains(t, body, "<title>Parcel tracking "+number+"</title>")
		assert.Contains(t, body, `<h1 id="status">In transit</h1>`)
		assert.Contains(t, body, `<strong id="phase">Import customs</strong>`)
		assert.Contains(t, body, `<dd id="eta">November 28, 2026</dd>`)
		assert.Contains(t, body, `<span class="kind">International transport</span>sbx_consol <span class="number">CONSOL-1</span>`)
		assert.Contains(t, body, `<span class="kind">Local delivery</span>sbx_post <span class="number">POST-1</span>`)
		// The store's order (newest first) is the page's order.
		london, hongKong, shenzhen := strings.Index(body, "London, United Kingdom"), strings.Index(body, "Hong Kong, Hong Kong"), strings.Index(body, "Shenzhen, China")
		require.Positive(t, london)
		assert.Less(t, london, hongKong)
		assert.Less(t, hongKong, shenzhen)
		assert.Contains(t, body, `<time datetime="2026-11-26T09:30:00Z">November 26, 2026, 9:30 am</time>`)
		assert.Contains(t, body, `<p class="who">sbx_post POST-1</p>`)
		assert.NotContains(t, body, "Older events")
	}

	t.Run("delivered shows the delivery date instead of an estimate", func(t *testing.T) {
		v := trackView()
		v.Status, v.Phase = logistics.StatusDelivered, logistics.PhaseLastMile
		v.Events = append([]store.PublicEvent{{Status: logistics.StatusDelivered, Phase: logistics.PhaseLastMile,
			OccurredAt: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), Location: logistics.Location{City: "London", Country: "GB"}}}, v.Events...)
		h.store.public["CONSOL-1"] = v
		body := h.track("CONSOL-1", "fr").Body.String()
		assert.Contains(t, body, `<dt>Livré le</dt><dd id="delivered">27 novembre 2026</dd>`)
		assert.NotContains(t, body, `id="eta"`)
		assert.Contains(t, body, "status-delivered")
	})
	t.Run("no estimate yet, no events yet, older events left out", func(t *testing.T) {
		v := trackView()
		v.EstimatedDelivery, v.Events, v.Legs, v.Phase = nil, nil, nil, ""
		h.store.public["CONSOL-1"] = v
		body := h.track("CONSOL-1", "es").Body.String()
		assert.Contains(t, body, `<dd id="eta">Aún no se conoce</dd>`)
		assert.Contains(t, body, "Todavía no hay eventos de seguimiento.")
		assert.NotContains(t, body, `id="phase"`)
		assert.Contains(t, body, `<li>sbx_consol <span class="number">CONSOL-1</span></li>`, "the shipment's own number without legs")

		v = trackView()
		v.OlderEvents = true
		h.store.public["CONSOL-1"] = v
		assert.Contains(t, h.track("CONSOL-1", "zh").Body.String(), "更早的记录未显示。")
	})
}

func TestTrackPageEscapesHostileStrings(t *testing.T) {
	h := newTrackHarness(t)
	v := trackView()
	v.Events = []store.PublicEvent{{Status: logistics.StatusInTransit, Phase: logistics.PhaseLineHaul,
		OccurredAt: time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC),
		Location:   logistics.Location{City: `<script>alert("city")</script>`, Country: `"><img src=x onerror=alert(1)>`},
		Carrier:    "sbx<b>bold</b>", TrackingNumber: `POST-1' onmouseover='alert(2)`}}
	v.Legs = []store.PublicLeg{{Sequence: 1, Kind: "</span><script>", Carrier: "<iframe>", TrackingNumber: "CONSOL-1"}}
	v.Status, v.Origin = `"><script>alert(3)</script>`, "<svg onload=alert(4)>"
	h.store.public["CONSOL-1"] = v
	rec := h.track("CONSOL-1", "")
	require.Equal(t, http.StatusOK, rec.Code)
	body := rec.Body.String()
	for _, raw := range []string{"<script>", "<img", "<b>", "<iframe>", "<svg", "onmouseover='"} {
		assert.NotContains(t, body, raw)
	}
	assert.Contains(t, body, "&lt;script&gt;alert(&#34;city&#34;)&lt;/script&gt;")
	assert.Contains(t, body, "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;", "an unknown country code is shown as it is, escaped")
	assert.Contains(t, body, "sbx&lt;b&gt;bold&lt;/b&gt;")
	assert.Contains(t, body, `<header class="summary status-&#34;&gt;&lt;script&gt;alert(3)&lt;/script&gt;">`)
}

func TestTrackPageNotFound(t *testing.T) {
	h := newTrackHarness(t)
	t.Run("unknown number: the localised page, the number shown back", func(t *testing.T) {
		rec := h.track("UNKNOWN-1", "de-DE")
		require.Equal(t, http.StatusNotFound, rec.Code)
		assert.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
		body := rec.Body.String()
		assert.Contains(t, body, `<h1 id="status">Sendungsnummer nicht gefunden</h1>`)
		assert.Contains(t, body, "<code>UNKNOWN-1</code>")
		assert.Contains(t, body, "<style>", "the same look")
		assert.Contains(t, body, `<html lang="de">`)
	})

	before := h.store.callCount()
	for _, target := range []string{
		"/track/" + strings.Repeat("A", 65), // longer than any tracking number
		"/track/AB%20CD",
		"/track/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
		"/track/-LEADING-DASH",
		"/track/%C3%BCber",
		"/track/",
		"/track",
		"/track/CONSOL-1/extra",
	} {
		t.Run(target, func(t *testing.T) {
			rec := h.do(http.MethodGet, target, nil, http.Header{"Accept-Language": {"fr"}})
			require.Equal(t, http.StatusNotFound, rec.Code)
			assert.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
			assert.Contains(t, rec.Body.String(), "Numéro de suivi introuvable")
			assert.NotContains(t, rec.Body.String(), "<code>", "a number of another shape is not shown back")
			assert.NotContains(t, rec.Body.String(), "<script>")
			assertTrackHeaders(t, rec)
		})
	}
	assert.Equal(t, before, h.store.callCount(), "numbers of another shape never reach the store")
}

// assertTrackHeaders checks the headers every tracking page answer carries,
// and that the CSP's style hash is the hash of the page's inline style.
func assertTrackHeaders(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	hdr := rec.Header()
	assert.Equal(t, "text/html; charset=utf-8", hdr.Get("Content-Type"))
	assert.Equal(t, "no-store", hdr.Get("Cache-Control"))
	assert.Equal(t, "nosniff", hdr.Get("X-Content-Type-Options"))
	assert.Equal(t, "no-referrer", hdr.Get("Referrer-Policy"))
	assert.Equal(t, "Accept-Language", hdr.Get("Vary"))
	assert.Equal(t, "noindex, nofollow", hdr.Get("X-Robots-Tag"))

	body := rec.Body.String()
	start, end := strings.Index(body, "<style>"), strings.Index(body, "</style>")
	require.True(t, start > 0 && end > start, "an inline style sheet")
	sum := sha256.Sum256([]byte(body[start+len("<style>") : end]))
	assert.Equal(t, "default-src 'none'; style-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'; "+
		"img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'", hdr.Get("Content-Security-Policy"))
	assert.NotContains(t, body, "<script", "the page needs no script")
	assert.NotContains(t, body, " style=", "inline style attributes would be blocked by the CSP")
}

func TestTrackPageHeaders(t *testing.T) {
	h := newTrackHarness(t)
	ok := h.track("CONSOL-1", "")
	require.Equal(t, http.StatusOK, ok.Code)
	assertTrackHeaders(t, ok)
	assert.Equal(t, "en", ok.Header().Get("Content-Language"))
	assert.NotEmpty(t, ok.Header().Get("X-Request-ID"))
	assertTrackHeaders(t, h.track("UNKNOWN-1", ""))
}

func TestTrackPageRateLimit(t *testing.T) {
	h := newTrackHarness(t, func(c *Config) { c.TrackRateLimit, c.TrackRateBurst = rate.Every(10*time.Second), 3 })
	from := func(addr string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/track/CONSOL-1", nil)
		req.RemoteAddr = addr
		req.Header.Set("Accept-Language", "es")
		return serve(h.srv, req)
	}
	for range 3 {
		require.Equal(t, http.StatusOK, from("198.51.100.7:5000").Code)
	}
	calls := h.store.callCount()
	rec := from("198.51.100.7:5001")
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.Equal(t, "10", rec.Header().Get("Retry-After"))
	assert.Contains(t, rec.Body.String(), "Demasiadas solicitudes")
	assertTrackHeaders(t, rec)
	assert.Equal(t, calls, h.store.callCount(), "a limited request does not reach the store")

	assert.Equal(t, http.StatusOK, from("203.0.113.9:5000").Code, "another address has its own bucket")

	// IPv6: one bucket per /64.
	for range 3 {
		require.Equal(t, http.StatusOK, from("[2001:db8:1:2::1]:443").Code)
	}
	assert.Equal(t, http.StatusTooManyRequests, from("[2001:db8:1:2:ffff::9]:443").Code, "same /64")
	assert.Equal(t, http.StatusOK, from("[2001:db8:1:3::1]:443").Code, "another /64")

	h.now = h.now.Add(10 * time.Second)
	assert.Equal(t, http.StatusOK, from("198.51.100.7:5002").Code, "the bucket refills")
	assert.Equal(t, http.StatusTooManyRequests, from("198.51.100.7:5003").Code)
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"198.51.100.7":            "198.51.100.7",
		"::ffff:198.51.100.7":     "198.51.100.7",
		"2001:db8:1:2:3:4:5:6":    "2001:db8:1:2::/64",
		"2001:db8:1:2::1%eth0":    "2001:db8:1:2::/64",
		"not an address":          "not an address",
		"fe80::1234:5678:9abc:de": "fe80::/64",
	} {
		assert.Equal(t, want, clientKey(in), in)
	}
}

func TestTrackPageStoreDown(t *testing.T) {
	h := newTrackHarness(t)
	h.store.err = errDatabaseDown
	rec := h.track("CONSOL-1", "zh-Hans")
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "5", rec.Header().Get("Retry-After"))
	assert.Contains(t, rec.Body.String(), "物流跟踪暂时不可用")
	assert.NotContains(t, rec.Body.String(), "5432", "the cause is not shown")
	assertTrackHeaders(t, rec)
	assert.Contains(t, h.logs.String(), "connection refused", "the cause is logged")
}
