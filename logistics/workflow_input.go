package logistics

// OrderWorkflowInput is the argument the order workflow is started with
// (the API starts it by SignalWithStart; the first signal carries the order).
type OrderWorkflowInput struct {
	MerchantID string `json:"merchant_id"`
	OrderID    string `json:"order_id"`
}
