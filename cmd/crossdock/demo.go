package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/spf13/cobra"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func newDemoCommand() *cobra.Command {
	demo := &cobra.Command{Use: "demo", Short: "Talk to a running Crossdock as the order service would"}
	var apiURL, secret, merchantID, orderID, country, warehouseID, name string
	order := &cobra.Command{
		Use:   "order",
		Short: "Send a signed order.created webhook for a demo order",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if secret == "" {
				secret = firstSecret(os.Getenv("CROSSDOCK_ORDER_WEBHOOK_SECRET"))
			}
			if !validSecret(secret) {
				return fmt.Errorf("--secret: must be the whsec_ order webhook secret that `crossdock dev` printed")
			}
			if orderID == "" {
				orderID = "DEMO-" + ulid.Make().String()[18:]
			}
			o := demoOrder(merchantID, orderID, warehouseID, country)
			if name != "" {
				o["data"].(map[string]any)["ship_to"].(map[string]any)["name"] = name
			}
			body, err := json.Marshal(o)
			if err != nil {
				return err
			}
			status, answer, err := sendSigned(cmd.Context(), apiURL+"/v1/webhooks/orders", secret, body)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d %s\n", status, answer)
			if status >= 300 {
				return fmt.Errorf("the API answered %d", status)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "order %s sent; follow it with GET %s/v1/orders/%s (Bearer demo API key)\n", orderID, apiURL, orderID)
			return nil
		},
	}
	order.Flags().StringVar(&apiURL, "api", "http://127.0.0.1:8080", "Crossdock API base URL")
	order.Flags().StringVar(&secret, "secret", "", "order webhook secret (default $CROSSDOCK_ORDER_WEBHOOK_SECRET)")
	order.Flags().StringVar(&merchantID, "merchant", demoMerchantID, "merchant id")
	order.Flags().StringVar(&orderID, "order", "", "order id (default a fresh DEMO-... id)")
	order.Flags().StringVar(&country, "country", "GB", "destination country")
	order.Flags().StringVar(&warehouseID, "warehouse", "wh_szx", "warehouse id")
	order.Flags().StringVar(&name, "name", "", "consignee name (default Ada Lovelace)")
	demo.AddCommand(order)
	return demo
}

func firstSecret(list string) string {
	for i := range len(list) {
		if list[i] == ' ' {
			return list[:i]
		}
	}
	return list
}

// demoOrder is contract.md's example order.created webhook.
func demoOrder(merchantID, orderID, warehouseID, country string) map[string]any {
	return map[string]any{
		"type":        "order.created",
		"occurred_at": time.Now().UTC().Format(time.RFC3339),
		"data": map[string]any{
			"merchant_id": merchantID, "order_id": orderID, "warehouse_id": warehouseID,
			"service_level": "standard", "incoterm": "DDP",
			"ship_to": map[string]any{"name": "Ada Lovelace", "line1": "12 Example Street", "line2": "",
				"city": "London", "region": "", "postal_code": "N1 9GU", "country": country,
				"phone": "+447700900123", "email": "ada@example.com"},
			"items": []map[string]any{{"sku": "TSHIRT-RED-M", "description": "Cotton T-shirt", "quantity": 2,
				"unit_price": map[string]string{"amount": "12.50", "currency": "GBP"},
				"hs_code":    "610910", "origin_country": "CN", "weight_grams": 180, "dangerous_goods": "none"}},
			"tax_ids":     map[string]string{"ioss": "", "eori": "", "uk_vat": "GB123456789"},
			"marketplace": "tiktok_shop",
		},
	}
}

// sendSigned POSTs body signed with the Standard Webhooks scheme.
func sendSigned(ctx context.Context, url, secret string, body []byte) (int, string, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return 0, "", fmt.Errorf("secret: %w", err)
	}
	id := "msg_" + ulid.Make().String()
	now := time.Now()
	sig, err := wh.Sign(id, now, body)
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	req.Header.Set("webhook-signature", sig)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("send to %s: %w", url, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(bytes.TrimSpace(answer)), err
}
