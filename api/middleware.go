package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/crossdock/crossdock/logistics"
)

const (
	requestIDHeader = "X-Request-ID"
	requestIDKey    = "request_id"
	// unmatchedRoute labels metrics of requests that matched no route, so
	// scanners cannot blow up the label cardinality.
	unmatchedRoute = "unmatched"
)

// requestID takes the caller's X-Request-ID when it is sane, otherwise makes
// one, and echoes it on the response.
func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader(requestIDHeader)
	if !validRequestID(id) {
		id = ulid.Make().String()
	}
	c.Set(requestIDKey, id)
	c.Header(requestIDHeader, id)
	c.Next()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

// recovery turns a panic into the contract's 500 shape and logs the stack.
func (s *Server) recovery(c *gin.Context) {
	defer func() {
		rec := recover()
		if rec == nil {
			return
		}
		if rec == http.ErrAbortHandler {
			panic(rec)
		}
		s.log(c).Error("handler panicked", "panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
		if c.Writer.Written() {
			c.Abort()
			return
		}
		s.fail(c, errors.New("panic"))
	}()
	c.Next()
}

// limitBody caps every request body at MaxBodyBytes; a declared length over
// the cap is refused before anything reads it.
func (s *Server) limitBody(c *gin.Context) {
	if c.Request.ContentLength > s.cfg.MaxBodyBytes {
		s.fail(c, logistics.Errorf(logistics.CodePayloadTooLarge, "the request body is larger than %d bytes", s.cfg.MaxBodyBytes))
		return
	}
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxBodyBytes)
	}
	c.Next()
}

// observe records the request in the metrics and writes one log line per
// request, labelled by route template, never by raw path.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	elapsed := time.Since(start)
	route := c.FullPath()
	if route == "" {
		route = unmatchedRoute
	}
	status := c.Writer.Status()
	s.metrics.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(status)).Inc()
	s.metrics.duration.WithLabelValues(c.Request.Method, route).Observe(elapsed.Seconds())
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.log(c).LogAttrs(c.Request.Context(), level, "http request",
		slog.String("method", c.Request.Method),
		slog.String("route", route),
		slog.String("path", c.Request.URL.Path),
		slog.Int("status", status),
		slog.Duration("duration", elapsed),
		slog.String("client_ip", c.ClientIP()),
		slog.Int("bytes", c.Writer.Size()),
	)
}

// httpMetrics are the API's Prometheus collectors.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "crossdock",
		Subsystem: "http",
		Name:      "requests_total",
		Help:      "HTTP requests served, by method, route template and status.",
	}, []string{"method", "route", "status"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "crossdock",
		Subsystem: "http",
		Name:      "request_duration_seconds",
		Help:      "HTTP request latency, by method and route template.",
		Buckets:   prometheus.DefBuckets,
	}, []string{"method", "route"})
	var err error
	if requests, err = register(reg, requests); err != nil {
		return nil, err
	}
	if duration, err = register(reg, duration); err != nil {
		return nil, err
	}
	return &httpMetrics{requests: requests, duration: duration}, nil
}

// register adds c to reg, reusing an identical collector already registered
// (two servers on one registry, e.g. in tests or after a restart in-process).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

func (s *Server) serveMetrics(c *gin.Context) {
	s.metricsH.ServeHTTP(c.Writer, c.Request)
}
