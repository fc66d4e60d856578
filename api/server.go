// Package api is Crossdock's HTTP surface (contract.md): signed inbound
// webhooks from the order service, carriers and warehouses, the merchant API,
// the ops routes, the buyer's public tracking page, health and metrics. It
// never writes order state itself: it verifies, records the webhook for
// idempotency and hands the event to the order's workflow; reads come from
// the store's projection. Tracking events are the one thing it stores: a
// carrier's scans are facts, appended deduplicated to the timeline in the
// same transaction as the webhook's record and a hand-off that the Relay
// signals to the shipment's workflow, which alone moves the status.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.temporal.io/sdk/client"
	"golang.org/x/time/rate"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/warehouses"
)

// TemporalClient is the narrow part of the Temporal client the API calls
// (style.md rule 2): start-or-signal an order workflow, signal a running one,
// and check the frontend's health. *client.Client satisfies it.
type TemporalClient interface {
	SignalWithStartWorkflow(ctx context.Context, workflowID string, signalName string, signalArg interface{},
		options client.StartWorkflowOptions, workflow interface{}, workflowArgs ...interface{}) (client.WorkflowRun, error)
	SignalWorkflow(ctx context.Context, workflowID string, runID string, signalName string, arg interface{}) error
	CheckHealth(ctx context.Context, request *client.CheckHealthRequest) (*client.CheckHealthResponse, error)
}

// Store is what the API needs from the projection store; *store.Store
// satisfies it. Lookups that find nothing, or find another merchant's object,
// return an *logistics.Error with code not_found.
type Store interface {
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// GetMerchant returns a merchant by id.
	GetMerchant(ctx context.Context, id string) (logistics.Merchant, error)
	// MerchantByKeyHash returns the merchant owning an API key, by the key's hash.
	MerchantByKeyHash(ctx context.Context, hash string) (logistics.Merchant, error)
	// FindWebhook returns the recorded answer to a webhook, if any.
	FindWebhook(ctx context.Context, source, id string) (store.WebhookRecord, bool, error)
	// RecordWebhook stores rec unless (Source, ID) is already recorded and
	// returns the first record either way.
	RecordWebhook(ctx context.Context, rec store.WebhookRecord) (first store.WebhookRecord, inserted bool, err error)
	// ClaimOrderIntake decides atomically which order.created delivery of
	// an order starts it; the others are duplicates.
	ClaimOrderIntake(ctx context.Context, claim store.OrderIntakeClaim) (store.IntakeDecision, error)
	// ReleaseOrderIntake gives up a claim whose holder could not start the order.
	ReleaseOrderIntake(ctx context.Context, merchantID, orderID, claim string) error
	// GetOrder returns a merchant's order.
	GetOrder(ctx context.Context, merchantID, orderID string) (store.OrderView, error)
	// OrderTrackingView returns a merchant's order's stage, its shipments'
	// status and phase, and its tracking events oldest first.
	OrderTrackingView(ctx context.Context, merchantID, orderID string) (store.OrderTrackingView, error)
	// AcceptTracking records a tracking submission's answer, its events and
	// their hand-offs to the shipment workflows in one transaction, unless
	// the submission is already recorded; it returns the first answer.
	AcceptTracking(ctx context.Context, a store.TrackingAcceptance) (first store.WebhookRecord, inserted bool, err error)
	// ShipmentsByTrackingNumbers locates the shipments owning tracking
	// numbers; numbers nobody owns are absent from the map.
	ShipmentsByTrackingNumbers(ctx context.Context, numbers []string) (map[string]store.ShipmentRef, error)
	// ShipmentByTrackingNumber locates the workflow owning a tracking number.
	ShipmentByTrackingNumber(ctx context.Context, trackingNumber string) (store.ShipmentRef, error)
	// MerchantShipmentByTrackingNumber returns a merchant's shipment by one of
	// its tracking numbers.
	MerchantShipmentByTrackingNumber(ctx context.Context, merchantID, trackingNumber string) (logistics.Shipment, error)
	// ListShipments returns a page of a merchant's shipments and the next cursor.
	ListShipments(ctx context.Context, merchantID string, filter store.ShipmentFilter) ([]logistics.Shipment, string, error)
	// GetDocument returns a merchant's printed document of a parcel.
	GetDocument(ctx context.Context, merchantID, trackingNumber, kind string) (store.Document, error)
	// ListStuckOrders returns a page of orders that need ops, across merchants.
	ListStuckOrders(ctx context.Context, limit int, cursor string) ([]store.OrderView, string, error)
	// PublicTracking returns what the buyer's tracking page may show of the
	// shipment owning a tracking number (any leg's), across merchants.
	PublicTracking(ctx context.Context, trackingNumber string) (store.PublicTrackingView, error)
}

// Config wires a Server. Store, Temporal and at least one order webhook
// secret are required.
type Config struct {
	Store      Store
	Temporal   TemporalClient
	Carriers   *carriers.Registry
	Warehouses *warehouses.Registry
	// OrderWebhookSecrets are the order service's Standard Webhooks secrets
	// ("whsec_<base64>"). Several may be set while a secret rotates; a
	// signature made with any of them is accepted.
	OrderWebhookSecrets []string
	// OpsToken guards the ops routes. Empty: the ops routes always answer 401.
	OpsToken string
	// MaxBodyBytes caps request bodies (default 1 MiB).
	MaxBodyBytes int64
	// Logger receives request and error logs (default slog.Default()).
	Logger *slog.Logger
	// Metrics registers the HTTP metrics (nil: a new registry).
	Metrics prometheus.Registerer
	// Gatherer serves GET /metrics (nil: Metrics if it is a Gatherer, else
	// the new registry).
	Gatherer prometheus.Gatherer
	// Now is the clock for webhook timestamps and rate limits (default time.Now).
	Now func() time.Time
	// RateLimit is each merchant key's sustained requests per second (default 10)
	// and RateBurst its burst (default 20).
	RateLimit rate.Limit
	RateBurst int
	// TrackRateLimit is each client address's sustained requests per second
	// on the public tracking page (default 1; IPv6 counted per /64) and
	// TrackRateBurst its burst (default 20). Behind a proxy every buyer has
	// the proxy's address: raise these there.
	TrackRateLimit rate.Limit
	TrackRateBurst int
	// KeyCacheTTL is how long an API key's merchant, once looked up, is
	// trusted without asking the store again (default 10s; negative: no
	// cache). It is the longest a key rotated by `crossdock merchant
	// rotate-key` keeps working in a running API. An unknown key is
	// remembered for at most a second. KeyCacheSize bounds the keys
	// remembered (default 10,000).
	KeyCacheTTL  time.Duration
	KeyCacheSize int
	// ReadyTimeout bounds each dependency check of GET /readyz (default 2s).
	ReadyTimeout time.Duration
	// Quoter answers POST /v1/landed-cost (nil: the route answers 503
	// unavailable, "landed-cost quotes are not configured").
	Quoter Quoter
	// WebhookEndpoints stores merchants' outbound webhook subscriptions and
	// WebhookURLs vets their URLs (SSRF); set both or neither. Neither: the
	// /v1/webhook-endpoints routes answer 503 unavailable, "webhook
	// endpoints are not configured".
	WebhookEndpoints WebhookEndpointStore
	WebhookURLs      URLChecker
	// Handoffs is woken after tracking events are accepted (a *Relay); nil:
	// whatever relay runs finds them on its next poll.
	Handoffs interface{ Notify() }
}

// Server is the HTTP API. Build it with New; it is safe for concurrent use.
type Server struct {
	cfg        Config
	engine     *gin.Engine
	logger     *slog.Logger
	now        func() time.Time
	orderHooks []*standardwebhooks.Webhook
	metrics    *httpMetrics
	metricsH   http.Handler

	keys *keyCache
	// routes remembers which shipment owns a tracking number (carrier
	// webhooks).
	routeCache *routeCache

	limitersMu sync.Mutex
	limiters   map[string]*rate.Limiter

	track *trackPage
	// spec holds the compiled request schemas of openapi.json by
	// "METHOD /gin/route" (see conform).
	spec map[string]*specOperation
}

// New checks cfg and builds the server with every route of contract.md.
// It returns an error naming the bad setting: a missing store or Temporal
// client, no order webhook secret, or an empty or malformed secret.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("api: Config.Store is required")
	}
	if cfg.Temporal == nil {
		return nil, errors.New("api: Config.Temporal is required")
	}
	if cfg.Carriers == nil {
		cfg.Carriers = carriers.NewRegistry()
	}
	if cfg.Warehouses == nil {
		cfg.Warehouses = warehouses.NewRegistry()
	}
	if len(cfg.OrderWebhookSecrets) == 0 {
		return nil, errors.New("api: at least one order webhook secret is required")
	}
	if (cfg.WebhookEndpoints == nil) != (cfg.WebhookURLs == nil) {
		return nil, errors.New("api: Config.WebhookEndpoints and Config.WebhookURLs go together: set both or neither")
	}
	var hooks []*standardwebhooks.Webhook
	for i, secret := range cfg.OrderWebhookSecrets {
		hook, err := newWebhookVerifier(secret)
		if err != nil {
			return nil, fmt.Errorf("api: order webhook secret %d: %w", i+1, err)
		}
		hooks = append(hooks, hook)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = 10
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = 20
	}
	if cfg.TrackRateLimit <= 0 {
		cfg.TrackRateLimit = 1
	}
	if cfg.TrackRateBurst <= 0 {
		cfg.TrackRateBurst = 20
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 2 * time.Second
	}
	reg, gatherer := cfg.Metrics, cfg.Gatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg = r
		if gatherer == nil {
			gatherer = r
		}
	}
	if gatherer == nil {
		g, ok := reg.(prometheus.Gatherer)
		if !ok {
			return nil, errors.New("api: Config.Metrics is not a Gatherer; set Config.Gatherer")
		}
		gatherer = g
	}
	metrics, err := newHTTPMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("api: register metrics: %w", err)
	}
	track, err := newTrackPage(cfg.TrackRateLimit, cfg.TrackRateBurst)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	spec, err := specOperations()
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	s := &Server{
		spec:       spec,
		cfg:        cfg,
		logger:     cfg.Logger,
		now:        cfg.Now,
		orderHooks: hooks,
		metrics:    metrics,
		metricsH:   promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}),
		limiters:   map[string]*rate.Limiter{},
		keys:       newKeyCache(cfg.KeyCacheTTL, cfg.KeyCacheSize),
		routeCache: newRouteCache(),
		track:      track,
	}
	s.engine = s.routes()
	return s, nil
}

// newWebhookVerifier builds a Standard Webhooks verifier for a "whsec_"
// secret, refusing empty keys (the library would accept them).
func newWebhookVerifier(secret string) (*standardwebhooks.Webhook, error) {
	key := strings.TrimPrefix(strings.TrimSpace(secret), "whsec_")
	if key == "" {
		return nil, errors.New("secret is empty")
	}
	hook, err := standardwebhooks.NewWebhook(key)
	if err != nil {
		return nil, errors.New("secret is not base64 after the whsec_ prefix")
	}
	return hook, nil
}

// Handler returns the HTTP handler serving every route.
func (s *Server) Handler() http.Handler { return s.engine }

// routes registers every route. The same list is in openapi.json; a test
// keeps the two equal.
func (s *Server) routes() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// The contract's paths are fixed: "/v1/orders//tracking" is a 404 in
	// the error shape, not an HTML redirect to another path that is not one.
	r.RedirectTrailingSlash = false
	// Clients connect directly or through a proxy that we do not trust for
	// addresses; ClientIP is the peer's address.
	_ = r.SetTrustedProxies(nil)
	r.Use(s.requestID, s.observe, s.recovery, s.limitBody)
	r.SetHTMLTemplate(s.track.template)
	r.NoRoute(func(c *gin.Context) {
		if isTrackPath(c.Request.URL.Path) {
			s.trackNoRoute(c)
			return
		}
		s.fail(c, logistics.Errorf(logistics.CodeNotFound, "no route for %s %s", c.Request.Method, c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		s.failStatus(c, http.StatusMethodNotAllowed, logistics.CodeInvalid, "method "+c.Request.Method+" is not allowed here")
	})

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", s.serveMetrics)
	r.GET("/openapi.json", s.openAPI)

	r.POST("/v1/webhooks/orders", s.orderWebhook)
	r.POST("/v1/webhooks/carriers/:carrier", s.carrierWebhook)
	r.POST("/v1/webhooks/warehouses/:warehouse_id", s.warehouseWebhook)

	m := r.Group("/v1", s.merchantAuth, s.rateLimit)
	m.GET("/orders/:order_id", s.getOrder)
	m.GET("/orders/:order_id/tracking", s.getOrderTracking)
	m.GET("/shipments", s.listShipments)
	m.GET("/tracking/:tracking_number", s.getTracking)
	m.GET("/tracking/:tracking_number/label", s.getDocument("label"))
	m.GET("/tracking/:tracking_number/customs-form", s.getDocument("customs-form"))
	m.POST("/landed-cost", s.landedCost)
	m.POST("/webhook-endpoints", s.createWebhookEndpoint)
	m.GET("/webhook-endpoints", s.listWebhookEndpoints)
	m.GET("/webhook-endpoints/:endpoint_id", s.getWebhookEndpoint)
	m.DELETE("/webhook-endpoints/:endpoint_id", s.deleteWebhookEndpoint)
	m.POST("/webhook-endpoints/:endpoint_id/rotate-secret", s.rotateWebhookSecret)
	m.POST("/webhook-endpoints/:endpoint_id/enable", s.enableWebhookEndpoint)
	m.GET("/webhook-endpoints/:endpoint_id/deliveries", s.listWebhookDeliveries)
	m.POST("/webhook-endpoints/:endpoint_id/deliveries/:delivery_id/redeliver", s.redeliverWebhook)

	r.GET(trackPath+"/:tracking_number", s.trackHeaders, s.trackRateLimit, s.getTrackPage)

	ops := r.Group("/v1/ops", s.opsAuth)
	ops.GET("/orders", s.listOpsOrders)
	ops.POST("/orders/:merchant_id/:order_id/:action", s.opsAction)
	ops.POST("/tracking/scans", s.postTrackingScans)
	ops.POST("/tracking/import", s.importTracking)
	return r
}

// log returns the server's logger carrying the request id, so every line a
// request writes can be found by it.
func (s *Server) log(c *gin.Context) *slog.Logger {
	return s.logger.With("request_id", c.GetString(requestIDKey))
}
