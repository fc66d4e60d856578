package logistics

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Money is an amount in one currency. It marshals as
// {"amount": "12.50", "currency": "EUR"}: the amount is a decimal string,
// never a float.
type Money struct {
	Amount   decimal.Decimal `json:"amount"`
	Currency string          `json:"currency"`
}

// Address is a postal address with contact details. Only City and Country
// are ever shown on public pages.
type Address struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	Region     string `json:"region"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
	Phone      string `json:"phone"`
	Email      string `json:"email"`
}

// DangerousGoods classifies hazardous contents of an item.
type DangerousGoods string

// Dangerous goods classes of the contract.
const (
	DGNone               DangerousGoods = "none"
	DGLithiumInEquipment DangerousGoods = "lithium_battery_in_equipment"
	DGLithiumStandalone  DangerousGoods = "lithium_battery_standalone"
	DGLiquid             DangerousGoods = "liquid"
	DGMagnetic           DangerousGoods = "magnetic"
	DGOther              DangerousGoods = "other"
)

var dangerousGoods = []DangerousGoods{DGNone, DGLithiumInEquipment, DGLithiumStandalone, DGLiquid, DGMagnetic, DGOther}

// Item is one order line.
type Item struct {
	SKU            string         `json:"sku"`
	Description    string         `json:"description"`
	Quantity       int            `json:"quantity"`
	UnitPrice      Money          `json:"unit_price"`
	HSCode         string         `json:"hs_code"`
	OriginCountry  string         `json:"origin_country"`
	WeightGrams    int            `json:"weight_grams"`
	DangerousGoods DangerousGoods `json:"dangerous_goods"`
}

// TaxIDs are the seller's tax registrations that may travel with a shipment.
type TaxIDs struct {
	IOSS  string `json:"ioss"`
	EORI  string `json:"eori"`
	UKVAT string `json:"uk_vat"`
}

// ServiceLevel is the speed the buyer paid for.
type ServiceLevel string

// Service levels.
const (
	ServiceEconomy  ServiceLevel = "economy"
	ServiceStandard ServiceLevel = "standard"
	ServiceExpress  ServiceLevel = "express"
)

// Incoterm says who pays duties and taxes.
type Incoterm string

// Incoterms of the contract.
const (
	IncotermDDP Incoterm = "DDP"
	IncotermDAP Incoterm = "DAP"
)

// Order is what the order service asks Crossdock to fulfil.
type Order struct {
	MerchantID   string       `json:"merchant_id"`
	OrderID      string       `json:"order_id"`
	WarehouseID  string       `json:"warehouse_id"`
	ServiceLevel ServiceLevel `json:"service_level"`
	Incoterm     Incoterm     `json:"incoterm"`
	ShipTo       Address      `json:"ship_to"`
	Items        []Item       `json:"items"`
	TaxIDs       TaxIDs       `json:"tax_ids"`
	Marketplace  string       `json:"marketplace"`
}

// OrderWorkflowID is the Temporal workflow id of an order (architecture.md).
func OrderWorkflowID(merchantID, orderID string) string {
	return "order/" + merchantID + "/" + orderID
}

// ShipmentWorkflowID is the Temporal workflow id of an order's n-th shipment.
func ShipmentWorkflowID(merchantID, orderID string, n int) string {
	return fmt.Sprintf("shipment/%s/%s/%d", merchantID, orderID, n)
}

// Lane is the origin-destination pair of an order, e.g. "CN-GB".
func Lane(origin, destination string) string { return origin + "-" + destination }

var (
	idPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)
	countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)
	currencyPat    = regexp.MustCompile(`^[A-Z]{3}$`)
	hsPattern      = regexp.MustCompile(`^[0-9]{6,10}$`)
	vagueWords     = map[string]bool{"gift": true, "gifts": true, "goods": true, "sample": true,
		"samples": true, "item": true, "items": true, "merchandise": true, "parts": true, "stuff": true}
)

// ValidID reports whether s is an acceptable merchant, order or warehouse id:
// 1 to 64 characters of letters, digits and _ . : -, not starting with a symbol.
// The limits keep ids safe inside workflow ids and URLs.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// Validate checks an order against the contract and returns an *Error with
// one FieldProblem per bad field (field paths use the webhook's JSON names
// under "data."), or nil.
func (o Order) Validate() error {
	var p problems
	if !ValidID(o.MerchantID) {
		p.add("data.merchant_id", "must be 1-64 letters, digits or _.:-")
	}
	if !ValidID(o.OrderID) {
		p.add("data.order_id", "must be 1-64 letters, digits or _.:-")
	}
	if !ValidID(o.WarehouseID) {
		p.add("data.warehouse_id", "must be 1-64 letters, digits or _.:-")
	}
	switch o.ServiceLevel {
	case ServiceEconomy, ServiceStandard, ServiceExpress:
	default:
		p.add("data.service_level", "must be one of economy, standard, express")
	}
	switch o.Incoterm {
	case IncotermDDP, IncotermDAP:
	default:
		p.add("data.incoterm", "must be DDP or DAP")
	}
	for _, f := range [][2]string{{"data.marketplace", o.Marketplace}, {"data.tax_ids.ioss", o.TaxIDs.IOSS},
		{"data.tax_ids.eori", o.TaxIDs.EORI}, {"data.tax_ids.uk_vat", o.TaxIDs.UKVAT}} {
		printable(&p, f[0], f[1])
	}
	o.ShipTo.validate(&p, "data.ship_to")
	if len(o.Items) == 0 {
		p.add("data.items", "must contain at least one item")
	}
	if len(o.Items) > 500 {
		p.add("data.items", "must contain at most 500 items")
	}
	for i, it := range o.Items {
		it.validate(&p, fmt.Sprintf("data.items[%d]", i))
	}
	return p.err("the order is invalid")
}

// Validate checks an address on its own (for address changes).
func (a Address) Validate(field string) error {
	var p problems
	a.validate(&p, field)
	return p.err("the address is invalid")
}

// ValidText reports whether s is valid UTF-8 without control characters
// (NUL, line breaks, ...): such text is never a real address, description
// or reason, and some databases cannot store it.
func ValidText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	return strings.IndexFunc(s, unicode.IsControl) < 0
}

// CleanText replaces invalid UTF-8 and control characters with spaces, for
// text Crossdock stores but does not control (a carrier's descriptions).
func CleanText(s string) string {
	if ValidText(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, " "))
}

func printable(p *problems, field, s string) {
	if !ValidText(s) {
		p.add(field, "must be valid UTF-8 without control characters")
	}
}

func (a Address) validate(p *problems, field string) {
	for _, f := range [][2]string{{"name", a.Name}, {"line1", a.Line1}, {"line2", a.Line2}, {"city", a.City},
		{"region", a.Region}, {"postal_code", a.PostalCode}, {"phone", a.Phone}, {"email", a.Email}} {
		printable(p, field+"."+f[0], f[1])
	}
	if strings.TrimSpace(a.Name) == "" {
		p.add(field+".name", "is required")
	}
	if strings.TrimSpace(a.Line1) == "" {
		p.add(field+".line1", "is required")
	}
	if strings.TrimSpace(a.City) == "" {
		p.add(field+".city", "is required")
	}
	if !countryPattern.MatchString(a.Country) {
		p.add(field+".country", "must be an ISO 3166-1 alpha-2 code such as GB")
	}
	if a.Phone != "" && !regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`).MatchString(a.Phone) {
		p.add(field+".phone", "must be in E.164 form such as +447700900123")
	}
	if a.Email != "" && (!strings.Contains(a.Email, "@") || strings.ContainsAny(a.Email, " \t\r\n")) {
		p.add(field+".email", "must be an email address")
	}
}

func (it Item) validate(p *problems, field string) {
	printable(p, field+".sku", it.SKU)
	printable(p, field+".description", it.Description)
	if strings.TrimSpace(it.SKU) == "" {
		p.add(field+".sku", "is required")
	}
	desc := strings.ToLower(strings.TrimSpace(it.Description))
	switch {
	case desc == "":
		p.add(field+".description", "is required")
	case vagueWords[desc]:
		p.add(field+".description", "is too vague for customs; say what the item is, e.g. \"cotton T-shirt\"")
	}
	if it.Quantity < 1 || it.Quantity > 100000 {
		p.add(field+".quantity", "must be between 1 and 100000")
	}
	if !currencyPat.MatchString(it.UnitPrice.Currency) {
		p.add(field+".unit_price.currency", "must be an ISO 4217 code such as GBP")
	}
	if it.UnitPrice.Amount.IsNegative() {
		p.add(field+".unit_price.amount", "must not be negative")
	}
	if !hsPattern.MatchString(it.HSCode) {
		p.add(field+".hs_code", "must be 6 to 10 digits")
	}
	if !countryPattern.MatchString(it.OriginCountry) {
		p.add(field+".origin_country", "must be an ISO 3166-1 alpha-2 code such as CN")
	}
	if it.WeightGrams < 1 {
		p.add(field+".weight_grams", "must be a positive number of grams")
	}
	if !contains(dangerousGoods, it.DangerousGoods) {
		p.add(field+".dangerous_goods", "must be one of none, lithium_battery_in_equipment, lithium_battery_standalone, liquid, magnetic, other")
	}
}

// WeightGrams is the net weight of all items.
func (o Order) WeightGrams() int {
	w := 0
	for _, it := range o.Items {
		w += it.WeightGrams * it.Quantity
	}
	return w
}

// Merchant is a seller using Crossdock.
type Merchant struct {
	ID        string    `json:"merchant_id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}
