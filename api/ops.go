package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/crossdock/crossdock/logistics"
)

// opsActor names the ops API in the audit trail of ops signals.
const opsActor = "ops-api"

// opsSignals maps the ops route's action word to its workflow signal.
var opsSignals = map[string]string{
	"retry":          logistics.SignalOpsRetry,
	"cancel":         logistics.SignalOpsCancel,
	"switch-carrier": logistics.SignalOpsSwitchCarrier,
}

// opsActionRequest is the optional JSON body of an ops action.
type opsActionRequest struct {
	Note    string `json:"note"`
	Carrier string `json:"carrier"`
	Service string `json:"service"`
}

// opsActionAccepted answers an ops action.
type opsActionAccepted struct {
	MerchantID string `json:"merchant_id"`
	OrderID    string `json:"order_id"`
	WorkflowID string `json:"workflow_id"`
	Action     string `json:"action"`
	Accepted   bool   `json:"accepted"`
}

// opsAuth admits requests bearing the ops token. With no token configured
// the ops routes are closed. Tokens are compared through their SHA-256 so
// neither content nor length leaks through timing.
func (s *Server) opsAuth(c *gin.Context) {
	token, ok := bearerToken(c)
	if !ok || s.cfg.OpsToken == "" {
		s.unauthorized(c, "an ops token is required: Authorization: Bearer <token>")
		return
	}
	got, want := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(s.cfg.OpsToken))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		s.unauthorized(c, "the ops token is not valid")
		return
	}
	c.Next()
}

// listOpsOrders handles GET /v1/ops/orders?stuck=true: orders that need a
// hand, across merchants.
func (s *Server) listOpsOrders(c *gin.Context) {
	var p []logistics.FieldProblem
	if c.Query("stuck") != "true" {
		p = append(p, logistics.FieldProblem{Field: "stuck", Problem: "must be true (only stuck orders can be listed)"})
	}
	limit, problem := parseLimit(c.Query("limit"))
	if problem != nil {
		p = append(p, *problem)
	}
	var verdict error
	if len(p) > 0 {
		verdict = &logistics.Error{Code: logistics.CodeInvalid, Message: "the query is invalid", Details: p}
	}
	if err := s.conform(c, nil, verdict); err != nil {
		s.fail(c, err)
		return
	}
	views, next, err := s.cfg.Store.ListStuckOrders(c.Request.Context(), limit, c.Query("cursor"))
	if err != nil {
		s.fail(c, fromStore(err))
		return
	}
	data := make([]opsOrderDTO, 0, len(views))
	for _, v := range views {
		data = append(data, toOpsOrder(v))
	}
	c.JSON(http.StatusOK, newPage(data, next))
}

// opsAction handles POST /v1/ops/orders/:merchant_id/:order_id/:action by
// signalling the order's workflow; the workflow decides what the action
// means where the order stands.
func (s *Server) opsAction(c *gin.Context) {
	merchantID, orderID, action := c.Param("merchant_id"), c.Param("order_id"), c.Param("action")
	signal, ok := opsSignals[action]
	if !ok {
		s.fail(c, logistics.Errorf(logistics.CodeNotFound, "unknown ops action %q; use retry, cancel or switch-carrier", action))
		return
	}
	if !logistics.ValidID(merchantID) || !logistics.ValidID(orderID) {
		s.fail(c, logistics.Errorf(logistics.CodeNotFound, "order not found"))
		return
	}
	var req opsActionRequest
	body, err := s.readBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if len(body) > 0 {
		if err := decodeJSON(body, &req, ""); err != nil {
			s.fail(c, err)
			return
		}
	}
	var verdict error
	if req.Carrier != "" && !logistics.ValidID(req.Carrier) {
		verdict = invalid("the request is invalid", "carrier", "must be a carrier code such as sbx_express")
	}
	if err := s.conform(c, body, verdict); err != nil {
		s.fail(c, err)
		return
	}
	workflowID := logistics.OrderWorkflowID(merchantID, orderID)
	payload := logistics.OpsAction{Actor: opsActor, Note: req.Note, Carrier: req.Carrier, Service: req.Service}
	err = s.cfg.Temporal.SignalWorkflow(c.Request.Context(), workflowID, "", signal, payload)
	if isWorkflowNotFound(err) {
		s.fail(c, logistics.Errorf(logistics.CodeNotFound, "order not found or no longer running"))
		return
	}
	if err != nil {
		s.fail(c, unavailable("Temporal", err))
		return
	}
	s.log(c).Info("ops action sent", "merchant_id", merchantID, "order_id", orderID, "action", action, "workflow_id", workflowID)
	c.JSON(http.StatusAccepted, opsActionAccepted{MerchantID: merchantID, OrderID: orderID, WorkflowID: workflowID, Action: action, Accepted: true})
}
