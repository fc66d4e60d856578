package api

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/time/rate"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

// trackPath is where the buyer's tracking pages live.
const trackPath = "/track"

const (
	trackLocaleKey = "track_locale"
	// trackLimiterClients bounds the per-address limiters kept in memory;
	// the least recently seen address is forgotten first (and starts again
	// with a full bucket, which only helps it by one burst).
	trackLimiterClients = 10_000
)

// trackPage holds what the public tracking page needs, built once by New.
type trackPage struct {
	catalog  *trackCatalog
	template *template.Template
	css      template.CSS
	// csp allows exactly the inline style sheet (by its hash) and nothing
	// else: no script, no frame, no form, no other origin.
	csp      string
	limiters *clientLimiters
}

func newTrackPage(limit rate.Limit, burst int) (*trackPage, error) {
	catalog, err := loadTrackCatalog(trackAssets)
	if err != nil {
		return nil, err
	}
	css, err := trackAssets.ReadFile("trackpage/page.css")
	if err != nil {
		return nil, fmt.Errorf("tracking page style sheet: %w", err)
	}
	tmpl, err := template.ParseFS(trackAssets, "trackpage/page.html")
	if err != nil {
		return nil, fmt.Errorf("tracking page template: %w", err)
	}
	sum := sha256.Sum256(css)
	limiters, err := newClientLimiters(limit, burst, trackLimiterClients)
	if err != nil {
		return nil, err
	}
	return &trackPage{
		catalog:  catalog,
		template: tmpl,
		css:      template.CSS(css),
		csp: "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
			"img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		limiters: limiters,
	}, nil
}

// trackPageData is what the templates of trackpage/page.html show. Every
// string is plain text, escaped by html/template.
type trackPageData struct {
	L     *trackLocale
	CSS   template.CSS
	Title string

	// The "track" page.
	Number      string
	StatusWord  string // the contract's word, for the page's colour
	Status      string
	Phase       string
	ShowETA     bool
	ETA         string
	Delivered   string
	Origin      string
	Destination string
	Legs        []trackLeg
	Events      []trackEvent
	OlderEvents bool

	// The "problem" page (Number is shown when it is of a valid shape).
	Heading string
	Message string
	Hint    string
}

type trackLeg struct {
	Kind    string
	Carrier string
	Number  string
}

type trackEvent struct {
	ISO     string
	When    string
	Status  string
	Phase   string
	Place   string
	Carrier string
	Number  string
}

// isTrackPath reports whether a request path is under /track, so that even
// paths no route matches (/track/, /track/a/b) get the HTML 404 page.
func isTrackPath(p string) bool {
	return p == trackPath || strings.HasPrefix(p, trackPath+"/")
}

// trackHeaders picks the page's language and sets the headers every
// tracking page answer carries, whatever its status.
func (s *Server) trackHeaders(c *gin.Context) {
	loc := s.track.catalog.negotiate(c.GetHeader("Accept-Language"))
	c.Set(trackLocaleKey, loc)
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", s.track.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Vary", "Accept-Language")
	h.Set("Content-Language", loc.htmlLang)
	h.Set("X-Robots-Tag", "noindex, nofollow")
	c.Next()
}

func trackLocaleOf(c *gin.Context) *trackLocale {
	return c.MustGet(trackLocaleKey).(*trackLocale)
}

// trackRateLimit applies a token bucket per client address (per /64 for
// IPv6): the page needs no key and tracking numbers can be guessed in
// sequence, so this bounds how fast one client can probe them and how much
// database work it can cause. Over the limit: the 429 page with Retry-After.
func (s *Server) trackRateLimit(c *gin.Context) {
	now := s.now()
	if delay, ok := s.track.limiters.allow(c.ClientIP(), now); !ok {
		secs := int(math.Ceil(delay.Seconds()))
		if secs < 1 {
			secs = 1
		}
		c.Header("Retry-After", strconv.Itoa(secs))
		s.trackProblem(c, http.StatusTooManyRequests, "ratelimited", "", "")
		return
	}
	c.Next()
}

// getTrackPage handles GET /track/:tracking_number: the buyer's page of the
// shipment owning that number (any leg's), in the buyer's language. A
// number of another shape answers the 404 page without a lookup.
func (s *Server) getTrackPage(c *gin.Context) {
	tn := c.Param("tracking_number")
	if !trackingNumberPattern.MatchString(tn) {
		s.trackProblem(c, http.StatusNotFound, "notfound", "", "notfound.hint")
		return
	}
	view, err := s.cfg.Store.PublicTracking(c.Request.Context(), tn)
	switch {
	case logistics.ErrorCode(err) == logistics.CodeNotFound:
		s.trackProblem(c, http.StatusNotFound, "notfound", tn, "notfound.hint")
		return
	case err != nil:
		s.log(c).Error("tracking page lookup failed", "status", http.StatusServiceUnavailable, "error", err)
		c.Header("Retry-After", strconv.Itoa(retryAfterUnavailable))
		s.trackProblem(c, http.StatusServiceUnavailable, "unavailable", "", "")
		return
	}
	loc := trackLocaleOf(c)
	c.HTML(http.StatusOK, "track", s.trackView(loc, tn, view))
}

// trackView turns the store's public view into the page's words.
func (s *Server) trackView(loc *trackLocale, number string, v store.PublicTrackingView) trackPageData {
	d := trackPageData{
		L:           loc,
		CSS:         s.track.css,
		Title:       loc.text["page.title"] + " " + number,
		Number:      number,
		StatusWord:  string(v.Status),
		Status:      loc.status(v.Status),
		Phase:       loc.phase(v.Phase),
		ShowETA:     !v.Status.Terminal(),
		ETA:         loc.text["page.eta_unknown"],
		Origin:      loc.country(v.Origin),
		Destination: loc.country(v.Destination),
		OlderEvents: v.OlderEvents,
	}
	if v.EstimatedDelivery != nil {
		d.ETA = loc.date(*v.EstimatedDelivery)
	}
	for _, l := range v.Legs {
		d.Legs = append(d.Legs, trackLeg{Kind: loc.legKind(l.Kind), Carrier: l.Carrier, Number: l.TrackingNumber})
	}
	if len(d.Legs) == 0 && v.TrackingNumber != "" {
		d.Legs = []trackLeg{{Carrier: v.Carrier, Number: v.TrackingNumber}}
	}
	for _, e := range v.Events {
		if v.Status == logistics.StatusDelivered && d.Delivered == "" && e.Status == logistics.StatusDelivered {
			d.Delivered = loc.date(e.OccurredAt) // events are newest first
		}
		d.Events = append(d.Events, trackEvent{
			ISO:     e.OccurredAt.UTC().Format(time.RFC3339),
			When:    loc.dateTime(e.OccurredAt),
			Status:  loc.status(e.Status),
			Phase:   loc.phase(e.Phase),
			Place:   loc.place(e.Location),
			Carrier: e.Carrier,
			Number:  e.TrackingNumber,
		})
	}
	return d
}

// trackProblem answers a tracking page that cannot be shown (not found,
// rate limited, unavailable) in the page's look and language. key names the
// message group ("notfound"); number is shown back when it is not empty.
func (s *Server) trackProblem(c *gin.Context, status int, key, number, hintID string) {
	loc := trackLocaleOf(c)
	d := trackPageData{
		L:       loc,
		CSS:     s.track.css,
		Title:   loc.text[key+".title"] + " · " + loc.text["page.title"],
		Heading: loc.text[key+".title"],
		Message: loc.text[key+".body"],
		Hint:    loc.text[hintID],
		Number:  number,
	}
	c.HTML(status, "problem", d)
	c.Abort()
}

// trackNoRoute answers paths under /track that match no route (/track,
// /track/, /track/a/b) with the localised 404 page.
func (s *Server) trackNoRoute(c *gin.Context) {
	s.trackHeaders(c)
	if !c.IsAborted() {
		s.trackProblem(c, http.StatusNotFound, "notfound", "", "notfound.hint")
	}
}

// clientLimiters is a token bucket per client address, keeping at most a
// bounded number of addresses (least recently seen forgotten first).
type clientLimiters struct {
	mu    sync.Mutex
	lru   *simplelru.LRU[string, *rate.Limiter]
	limit rate.Limit
	burst int
}

func newClientLimiters(limit rate.Limit, burst, size int) (*clientLimiters, error) {
	lru, err := simplelru.NewLRU[string, *rate.Limiter](size, nil)
	if err != nil {
		return nil, fmt.Errorf("tracking page rate limiter: %w", err)
	}
	return &clientLimiters{lru: lru, limit: limit, burst: burst}, nil
}

// allow takes a token for the client at now, or reports how long until one
// is available.
func (l *clientLimiters) allow(clientIP string, now time.Time) (time.Duration, bool) {
	key := clientKey(clientIP)
	l.mu.Lock()
	lim, ok := l.lru.Get(key)
	if !ok {
		lim = rate.NewLimiter(l.limit, l.burst)
		l.lru.Add(key, lim)
	}
	l.mu.Unlock()
	res := lim.ReserveN(now, 1)
	if delay := res.DelayFrom(now); !res.OK() || delay > 0 {
		res.CancelAt(now)
		return delay, false
	}
	return 0, true
}

// clientKey is the address a client is limited by: an IPv4 address, or the
// /64 of an IPv6 one (one subscriber usually holds a whole /64).
func clientKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, err := addr.Prefix(64)
		if err == nil {
			return p.String()
		}
	}
	return addr.String()
}
