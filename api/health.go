package api

import (
	"context"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"github.com/crossdock/crossdock/logistics"
)

// healthz answers while the process is up; it checks nothing else.
func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz checks the database and Temporal, each under ReadyTimeout, and
// answers 503 naming the ones that failed.
func (s *Server) readyz(c *gin.Context) {
	checks := []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{"database", s.cfg.Store.Ping},
		{"temporal", func(ctx context.Context) error {
			_, err := s.cfg.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}},
	}
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, check := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.ReadyTimeout)
			defer cancel()
			errs[i] = check.run(ctx)
		})
	}
	wg.Wait()
	var problems []logistics.FieldProblem
	for i, err := range errs {
		if err != nil {
			s.log(c).Warn("readiness check failed", "dependency", checks[i].name, "error", err)
			problems = append(problems, logistics.FieldProblem{Field: checks[i].name, Problem: "unreachable"})
		}
	}
	if len(problems) > 0 {
		msg := "not ready: " + problems[0].Field
		if len(problems) > 1 {
			msg += " and " + problems[1].Field
		}
		msg += " unreachable"
		s.fail(c, &apiError{app: &logistics.Error{Code: logistics.CodeUnavailable, Message: msg, Details: problems}})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok", "checks": gin.H{"database": "ok", "temporal": "ok"}})
}
