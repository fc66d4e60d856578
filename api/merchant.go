package api

import (
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

const (
	merchantKey = "merchant"
	keyHashKey  = "key_hash"

	defaultPageLimit = 50
	maxPageLimit     = 200
)

var (
	countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)
	// trackingNumberPattern bounds what a tracking number may look like
	// before it reaches the store.
	trackingNumberPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
)

// bearerToken returns the token of an "Authorization: Bearer <token>" header.
func bearerToken(c *gin.Context) (string, bool) {
	scheme, token, ok := strings.Cut(c.GetHeader("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// unauthorized answers 401 with the Bearer challenge.
func (s *Server) unauthorized(c *gin.Context, message string) {
	c.Header("WWW-Authenticate", `Bearer realm="crossdock"`)
	s.fail(c, logistics.Errorf(logistics.CodeUnauthorized, "%s", message))
}

// merchantAuth resolves the API key to its merchant. The merchant id used
// by every merchant route comes from the key, never from the request. The
// key is hashed on every request; the hash's merchant (or its absence) is
// then taken from the key cache when it is fresh there, so a rotated key
// keeps working for up to Config.KeyCacheTTL (see keyCache).
func (s *Server) merchantAuth(c *gin.Context) {
	key, ok := bearerToken(c)
	if !ok {
		s.unauthorized(c, "an API key is required: Authorization: Bearer <key>")
		return
	}
	hash := store.HashAPIKey(key)
	m, answer := s.keys.lookup(hash)
	if answer == keyNotCached {
		var err error
		m, err = s.cfg.Store.MerchantByKeyHash(c.Request.Context(), hash)
		switch {
		case logistics.ErrorCode(err) == logistics.CodeNotFound:
			s.keys.rememberUnknown(hash)
			answer = keyInvalid
		case err != nil:
			s.fail(c, unavailable("the database", err))
			return
		default:
			s.keys.remember(hash, m)
			answer = keyValid
		}
	}
	if answer == keyInvalid {
		s.unauthorized(c, "the API key is not valid")
		return
	}
	c.Set(merchantKey, m)
	c.Set(keyHashKey, hash)
	c.Next()
}

func merchantOf(c *gin.Context) logistics.Merchant {
	return c.MustGet(merchantKey).(logistics.Merchant)
}

// rateLimit applies a token bucket per API key: 429 with Retry-After when
// the key's bucket is empty.
func (s *Server) rateLimit(c *gin.Context) {
	lim := s.limiter(c.GetString(keyHashKey))
	now := s.now()
	res := lim.ReserveN(now, 1)
	if delay := res.DelayFrom(now); !res.OK() || delay > 0 {
		res.CancelAt(now)
		secs := int(math.Ceil(delay.Seconds()))
		if secs < 1 {
			secs = 1
		}
		c.Header("Retry-After", strconv.Itoa(secs))
		s.fail(c, logistics.Errorf(logistics.CodeRateLimited, "too many requests for this API key; retry after %d s", secs))
		return
	}
	c.Next()
}

func (s *Server) limiter(key string) *rate.Limiter {
	s.limitersMu.Lock()
	defer s.limitersMu.Unlock()
	lim, ok := s.limiters[key]
	if !ok {
		lim = rate.NewLimiter(s.cfg.RateLimit, s.cfg.RateBurst)
		s.limiters[key] = lim
	}
	return lim
}

// getOrder handles GET /v1/orders/:order_id. Another merchant's order
// answers exactly like a missing one.
func (s *Server) getOrder(c *gin.Context) {
	v, err := s.merchantOrder(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toOrder(v))
}

// getOrderTracking handles GET /v1/orders/:order_id/tracking. It is the
// merchant API's hottest read: the store answers it with one statement
// (the order's standing and its events, each part on its index) instead of
// loading the whole order, and the answer is encoded straight into the
// response.
// Another merchant's order answers exactly like a missing one.
func (s *Server) getOrderTracking(c *gin.Context) {
	orderID := c.Param("order_id")
	if !logistics.ValidID(orderID) {
		s.fail(c, orderNotFound(logistics.ErrNotFound))
		return
	}
	v, err := s.cfg.Store.OrderTrackingView(c.Request.Context(), merchantOf(c).ID, orderID)
	if err != nil {
		s.fail(c, orderNotFound(fromStore(err)))
		return
	}
	s.writeJSON(c, http.StatusOK, toOrderTracking(v))
}

func (s *Server) merchantOrder(c *gin.Context) (store.OrderView, error) {
	orderID := c.Param("order_id")
	if !logistics.ValidID(orderID) {
		return store.OrderView{}, orderNotFound(logistics.ErrNotFound)
	}
	v, err := s.cfg.Store.GetOrder(c.Request.Context(), merchantOf(c).ID, orderID)
	if err != nil {
		return store.OrderView{}, orderNotFound(fromStore(err))
	}
	return v, nil
}

// orderNotFound gives every not-found order the same answer, whether the
// order is missing or belongs to someone else.
func orderNotFound(err error) error {
	if logistics.ErrorCode(err) == logistics.CodeNotFound {
		return logistics.Errorf(logistics.CodeNotFound, "order not found")
	}
	return err
}

// getTracking handles GET /v1/tracking/:tracking_number.
func (s *Server) getTracking(c *gin.Context) {
	notFound := logistics.Errorf(logistics.CodeNotFound, "shipment not found")
	tn := c.Param("tracking_number")
	if !trackingNumberPattern.MatchString(tn) {
		s.fail(c, notFound)
		return
	}
	sh, err := s.cfg.Store.MerchantShipmentByTrackingNumber(c.Request.Context(), merchantOf(c).ID, tn)
	if logistics.ErrorCode(err) == logistics.CodeNotFound {
		s.fail(c, notFound)
		return
	}
	if err != nil {
		s.fail(c, fromStore(err))
		return
	}
	c.JSON(http.StatusOK, toShipment(sh))
}

// documentKinds maps the route's last segment to the stored kind.
var documentKinds = map[string]string{"label": store.DocumentLabel, "customs-form": store.DocumentCustomsForm}

// getDocument handles GET /v1/tracking/{tracking_number}/label and
// /customs-form: the PDF Crossdock printed for a parcel whose carrier has no
// label API, or its postal customs declaration (CN22/CN23). A parcel whose
// carrier printed its own label has none here (its label_url points at the
// carrier), which answers 404 like another merchant's parcel.
func (s *Server) getDocument(kind string) gin.HandlerFunc {
	stored := documentKinds[kind]
	return func(c *gin.Context) {
		notFound := logistics.Errorf(logistics.CodeNotFound, "no %s for this tracking number", kind)
		tn := c.Param("tracking_number")
		if !trackingNumberPattern.MatchString(tn) {
			s.fail(c, notFound)
			return
		}
		d, err := s.cfg.Store.GetDocument(c.Request.Context(), merchantOf(c).ID, tn, stored)
		if logistics.ErrorCode(err) == logistics.CodeNotFound {
			s.fail(c, notFound)
			return
		}
		if err != nil {
			s.fail(c, fromStore(err))
			return
		}
		c.Header("Content-Disposition", `inline; filename="`+tn+"-"+kind+`.pdf"`)
		c.Header("Cache-Control", "private, max-age=3600")
		c.Data(http.StatusOK, d.ContentType, d.Content)
	}
}

// listShipments handles GET /v1/shipments with its filters and paging.
func (s *Server) listShipments(c *gin.Context) {
	f, err := parseShipmentFilter(c)
	if err = s.conform(c, nil, err); err != nil {
		s.fail(c, err)
		return
	}
	list, next, err := s.cfg.Store.ListShipments(c.Request.Context(), merchantOf(c).ID, f)
	if err != nil {
		s.fail(c, fromStore(err))
		return
	}
	data := make([]shipmentDTO, 0, len(list))
	for _, sh := range list {
		data = append(data, toShipment(sh))
	}
	c.JSON(http.StatusOK, newPage(data, next))
}

func parseShipmentFilter(c *gin.Context) (store.ShipmentFilter, error) {
	var p []logistics.FieldProblem
	f := store.ShipmentFilter{
		Status:      logistics.Status(c.Query("status")),
		Phase:       logistics.Phase(c.Query("phase")),
		Carrier:     c.Query("carrier"),
		Destination: c.Query("destination"),
		Cursor:      c.Query("cursor"),
	}
	if f.Status != "" && !f.Status.Valid() {
		p = append(p, logistics.FieldProblem{Field: "status", Problem: "must be one of " + joinWords(logistics.Statuses)})
	}
	if f.Phase != "" && !f.Phase.Valid() {
		p = append(p, logistics.FieldProblem{Field: "phase", Problem: "must be one of " + joinWords(logistics.Phases)})
	}
	if f.Carrier != "" && !logistics.ValidID(f.Carrier) {
		p = append(p, logistics.FieldProblem{Field: "carrier", Problem: "must be a carrier code such as sbx_express"})
	}
	if f.Destination != "" && !countryPattern.MatchString(f.Destination) {
		p = append(p, logistics.FieldProblem{Field: "destination", Problem: "must be an ISO 3166-1 alpha-2 code such as GB"})
	}
	if raw := c.Query("updated_after"); raw != "" {
		t, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			p = append(p, logistics.FieldProblem{Field: "updated_after", Problem: "must be an RFC 3339 timestamp with offset"})
		} else {
			f.UpdatedAfter = &t
		}
	}
	limit, problem := parseLimit(c.Query("limit"))
	if problem != nil {
		p = append(p, *problem)
	}
	f.Limit = limit
	if len(f.Cursor) > 512 {
		p = append(p, logistics.FieldProblem{Field: "cursor", Problem: "is not a cursor this API returned"})
	}
	if len(p) > 0 {
		return store.ShipmentFilter{}, &logistics.Error{Code: logistics.CodeInvalid, Message: "the query is invalid", Details: p}
	}
	return f, nil
}

// parseLimit reads a page size: absent means the default, anything outside
// 1..200 is a field problem rather than silently clamped.
func parseLimit(raw string) (int, *logistics.FieldProblem) {
	if raw == "" {
		return defaultPageLimit, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxPageLimit {
		return 0, &logistics.FieldProblem{Field: "limit", Problem: "must be an integer from 1 to 200"}
	}
	return n, nil
}

func joinWords[T ~string](words []T) string {
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = string(w)
	}
	return strings.Join(parts, ", ")
}
