package paper

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crossdock/crossdock/customs"
	"github.com/crossdock/crossdock/logistics"
)

// MaxCN22Items is how many item lines fit on a CN22. A parcel with more
// lines needs a CN23, which continues on as many pages as it takes.
const MaxCN22Items = 8

var (
	hsPattern       = regexp.MustCompile(`^[0-9]{6,10}$`)
	countryPattern  = regexp.MustCompile(`^[A-Z]{2}$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
)

// CustomsFormInput is what a postal customs declaration lists.
type CustomsFormInput struct {
	// Form is customs.FormCN22 or customs.FormCN23, as the customs
	// decision chose it (CN22 up to 300 SDR, this package does not check).
	Form string
	// TrackingNumber is the item number, printed as a Code 128 barcode.
	TrackingNumber string
	// Carrier is the designated operator that carries the item.
	Carrier string
	// From is the sender, To the addressee.
	From logistics.Address
	To   logistics.Address
	// Items are the contents, one line each. All unit prices must be in one
	// currency. An item's WeightGrams is per unit, as on the order.
	Items []logistics.Item
	// GrossWeightGrams is the weight of the parcel, packaging included; it
	// cannot be less than the items' net weight.
	GrossWeightGrams int
	// Reference is the sender's reference for the sale (the order id),
	// printed as the invoice number.
	Reference string
	// ImporterReference is the addressee's or the seller's import tax
	// code (IOSS, VAT or EORI number), if any.
	ImporterReference string
	// Date is the date of the declaration, also the PDF's creation date.
	Date time.Time
}

// formLine is an item line with its totals worked out.
type formLine struct {
	item      logistics.Item
	netGrams  int
	lineValue logistics.Money
}

// CustomsForm renders a CN22 (on a 4 x 6 inch page, to print beside the
// label) or a CN23 (on A4, continued over pages for long orders) for a sale of
// goods: sender, addressee, category, each item's description, quantity, net
// weight, value with currency, HS tariff number and country of origin,
// totals, the sender's certification with date, and the tracking number as
// a Code 128 barcode.
//
// A form other than CN22 or CN23, or bad input (an empty tracking number,
// no items, items in different currencies, more than MaxCN22Items lines on a
// CN22, a gross weight below the net weight, ...), returns a
// *logistics.Error with code invalid_request naming each bad field. The
// same input always gives the same bytes.
func CustomsForm(in CustomsFormInput) ([]byte, error) {
	lines, total, net, sym, err := checkCustomsForm(in)
	if err != nil {
		return nil, err
	}
	if in.Form == customs.FormCN22 {
		return cn22(in, lines, total, net, sym)
	}
	return cn23(in, lines, total, net, sym)
}

// checkCustomsForm validates in and works out each line, the total value and
// the net weight. It returns the tracking barcode sized for the form.
func checkCustomsForm(in CustomsFormInput) ([]formLine, logistics.Money, int, symbol, error) {
	var p []logistics.FieldProblem
	add := func(field, format string, args ...any) {
		p = append(p, logistics.FieldProblem{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	maxBarcodeMM := labelWidthMM - 2*labelMarginMM
	switch in.Form {
	case customs.FormCN22:
	case customs.FormCN23:
		maxBarcodeMM = cn23BarcodeMM
	default:
		add("form", "must be %s or %s, got %q", customs.FormCN22, customs.FormCN23, in.Form)
	}
	if problem := trackingProblem(in.TrackingNumber); problem != "" {
		add("tracking_number", "%s", problem)
	}
	checkText(&p, "carrier", in.Carrier, true)
	addressProblems(&p, "from", in.From)
	addressProblems(&p, "to", in.To)
	checkText(&p, "reference", in.Reference, true)
	checkText(&p, "importer_reference", in.ImporterReference, false)
	if in.Date.IsZero() {
		add("date", "is required")
	}
	switch {
	case len(in.Items) == 0:
		add("items", "must contain at least one item")
	case in.Form == customs.FormCN22 && len(in.Items) > MaxCN22Items:
		add("items", "a CN22 has room for %d item lines, this parcel has %d: use a CN23", MaxCN22Items, len(in.Items))
	}

	var lines []formLine
	total := logistics.Money{Amount: decimal.Zero}
	net := 0
	for i, it := range in.Items {
		f := fmt.Sprintf("items[%d]", i)
		checkText(&p, f+".description", it.Description, true)
		if it.Quantity < 1 || it.Quantity > 100000 {
			add(f+".quantity", "must be between 1 and 100000")
		}
		if it.WeightGrams < 1 {
			add(f+".weight_grams", "must be a positive number of grams")
		}
		if !hsPattern.MatchString(it.HSCode) {
			add(f+".hs_code", "must be 6 to 10 digits")
		}
		if !countryPattern.MatchString(it.OriginCountry) {
			add(f+".origin_country", "must be an ISO 3166-1 alpha-2 code such as CN")
		}
		switch {
		case !currencyPattern.MatchString(it.UnitPrice.Currency):
			add(f+".unit_price.currency", "must be an ISO 4217 code such as GBP")
		case i > 0 && it.UnitPrice.Currency != in.Items[0].UnitPrice.Currency:
			add(f+".unit_price.currency", "must be %s like the first item: a declaration has one currency", in.Items[0].UnitPrice.Currency)
		}
		if it.UnitPrice.Amount.IsNegative() {
			add(f+".unit_price.amount", "must not be negative")
		}
		value := logistics.Money{Amount: it.UnitPrice.Amount.Mul(decimal.NewFromInt(int64(it.Quantity))), Currency: it.UnitPrice.Currency}
		lines = append(lines, formLine{item: it, netGrams: it.WeightGrams * it.Quantity, lineValue: value})
		total = logistics.Money{Amount: total.Amount.Add(value.Amount), Currency: it.UnitPrice.Currency}
		net += it.WeightGrams * it.Quantity
	}
	if in.GrossWeightGrams < 1 || in.GrossWeightGrams < net {
		add("gross_weight_grams", "must be a positive number of grams, at least the items' net weight (%d g)", net)
	}

	var sym symbol
	if len(p) == 0 {
		var err error
		if sym, err = code128Symbol(in.TrackingNumber, maxBarcodeMM); err != nil {
			add("tracking_number", "%s", err.Error())
		}
	}
	if err := invalid("the customs form input is invalid", p); err != nil {
		return nil, logistics.Money{}, 0, symbol{}, err
	}
	return lines, total, net, sym, nil
}

// categories are the boxes of a CN22/CN23; Crossdock ships sales of goods.
var categories = []string{"Gift", "Commercial sample", "Documents", "Returned goods", "Sale of goods", "Other"}

const saleOfGoods = "Sale of goods"

// certification is the sender's declaration printed above the signature.
const certification = "I, the undersigned, whose name and address are given on the item, certify that the " +
	"particulars given in this declaration are correct and that this item does not contain any dangerous " +
	"article or articles prohibited by legislation or by postal or customs regulations."

// column is one column of an item table: its width share and heading.
type column struct {
	width float64
	title string
	align string
}

// itemColumns returns the table's columns scaled to width w.
func itemColumns(w float64) []column {
	cols := []column{
		{34, "Detailed description of contents", "L"},
		{8, "Qty", "R"},
		{13, "Net weight (kg)", "R"},
		{17, "Value", "R"},
		{15, "HS tariff No.", "L"},
		{13, "Country of origin", "L"},
	}
	sum := 0.0
	for _, c := range cols {
		sum += c.width
	}
	for i := range cols {
		cols[i].width *= w / sum
	}
	return cols
}

// cells are the texts of one item line, in itemColumns order.
func (l formLine) cells() []string {
	return []string{l.item.Description, strconv.Itoa(l.item.Quantity), strings.TrimSuffix(grams(l.netGrams), " kg"),
		amount(l.lineValue) + " " + l.lineValue.Currency, l.item.HSCode, l.item.OriginCountry}
}

// tableHead draws the headings of an item table, headH tall, at y and
// returns the y of its first row.
func (d doc) tableHead(x, y, headH float64, cols []column, size float64) float64 {
	cx := x
	for _, c := range cols {
		d.Rect(cx, y, c.width, headH, "D")
		d.lines(cx+0.8, y+0.5, c.width-1.6, size*ptMM*1.15, c.title, "B", size, 2)
		cx += c.width
	}
	return y + headH
}

// row draws one boxed table row at y.
func (d doc) row(x, y, h float64, cols []column, cells []string, style string, size float64) {
	cx := x
	for i, c := range cols {
		d.Rect(cx, y, c.width, h, "D")
		d.text(cx+0.8, y, c.width-1.6, h, cells[i], style, size, c.align)
		cx += c.width
	}
}

// checkboxes draws the category boxes in rows of perRow, ticking saleOfGoods.
func (d doc) checkboxes(x, y, w, rowH float64, perRow int, size float64) float64 {
	colW := w / float64(perRow)
	box := rowH * 0.6
	for i, c := range categories {
		cx, cy := x+float64(i%perRow)*colW, y+float64(i/perRow)*rowH
		d.Rect(cx, cy+(rowH-box)/2, box, box, "D")
		if c == saleOfGoods {
			d.text(cx, cy, box, rowH, "X", "B", size+1, "C")
		}
		d.text(cx+box+1, cy, colW-box-1, rowH, c, "", size, "L")
	}
	return y + float64((len(categories)+perRow-1)/perRow)*rowH
}

// addressBox draws a titled address block and returns the y below it.
func (d doc) addressBox(x, y, w float64, title string, a logistics.Address, size, lineH float64) float64 {
	d.text(x, y, w, lineH, title, "B", size-1, "L")
	y += lineH
	for _, l := range addressLines(a) {
		d.text(x, y, w, lineH, l, "", size, "L")
		y += lineH
	}
	if a.Phone != "" {
		d.text(x, y, w, lineH, "Tel. "+a.Phone, "", size, "L")
		y += lineH
	}
	return y
}

// signature draws the date and a line for the sender to sign on, with the
// sender's name under it: the form is printed, the signature is by hand.
func (d doc) signature(x, y, w float64, date time.Time, sender string, size float64) {
	h := size * ptMM * 1.4
	d.text(x, y, w*0.35, h, "Date: "+date.Format(time.DateOnly), "B", size, "L")
	d.text(x+w*0.35, y, w*0.65, h, "Sender's signature:", "B", size, "L")
	d.Line(x+w*0.35, y+3*h, x+w, y+3*h)
	d.text(x+w*0.35, y+3*h, w*0.65, h, sender, "", size-1, "L")
}

// cn22 draws a CN22 on a 4 x 6 inch page.
func cn22(in CustomsFormInput, lines []formLine, total logistics.Money, net int, sym symbol) ([]byte, error) {
	const m, w = labelMarginMM, labelWidthMM - 2*labelMarginMM
	d := newDoc(labelWidthMM, labelHeightMM, "CN22 "+in.TrackingNumber, in.Date)
	d.SetLineWidth(0.25)

	d.text(m, m, w*0.7, 6, "CUSTOMS DECLARATION", "B", 12, "L")
	d.text(m+w*0.7, m, w*0.3, 6, "CN 22", "B", 16, "R")
	d.text(m, m+6, w*0.6, 4, "Designated operator: "+in.Carrier, "", 7, "L")
	d.text(m+w*0.6, m+6, w*0.4, 4, "May be opened officially", "I", 7, "R")
	d.Line(m, 15, m+w, 15)

	d.barcode("tracking", sym, (labelWidthMM-sym.widthMM())/2, 16.5, 11)
	d.text(m, 28, w, 4.5, in.TrackingNumber, "B", 11, "C")
	d.Line(m, 33.5, m+w, 33.5)

	half := w / 2
	yFrom := d.addressBox(m, 34.5, half-1, "FROM", in.From, 6.5, 2.8)
	yTo := d.addressBox(m+half+1, 34.5, half-1, "TO", in.To, 6.5, 2.8)
	y := max(yFrom, yTo) + 0.5
	d.Line(m, y, m+w, y)

	y = d.checkboxes(m, y+0.8, w, 3.6, 3, 6.5) + 0.8
	d.Line(m, y, m+w, y)

	cols := itemColumns(w)
	y = d.tableHead(m, y+1, 6, cols, 5.5)
	for _, l := range lines {
		d.row(m, y, 4.6, cols, l.cells(), "", 6.5)
		y += 4.6
	}
	d.row(m, y, 5, cols, []string{"Totals (gross weight " + strings.TrimSuffix(grams(in.GrossWeightGrams), " kg") + " kg)", "",
		strings.TrimSuffix(grams(net), " kg"), amount(total) + " " + total.Currency, "", ""}, "B", 6.5)
	y += 6

	y = d.lines(m, y, w, 2.5, certification, "", 5.5, 5)
	d.text(m, y+0.5, w, 3, "Invoice No. "+in.Reference, "", 6.5, "L")
	if in.ImporterReference != "" {
		d.text(m+w/2, y+0.5, w/2, 3, "Importer's reference "+in.ImporterReference, "", 6.5, "R")
	}
	d.signature(m, y+5, w, in.Date, in.From.Name, 7)
	return d.bytes()
}

// CN23 page: A4 portrait.
const (
	a4WidthMM, a4HeightMM = 210.0, 297.0
	cn23MarginMM          = 10.0
	cn23BarcodeMM         = 85.0
	cn23RowMM             = 6.0
)

// cn23 draws a CN23 on A4 pages: the first carries the parties and
// categories, the item table continues over pages as needed, the last ends
// with totals, the certification and the signature.
func cn23(in CustomsFormInput, lines []formLine, total logistics.Money, net int, sym symbol) ([]byte, error) {
	const m, w = cn23MarginMM, a4WidthMM - 2*cn23MarginMM
	const bottom = a4HeightMM - m - 6 // room for the footer
	d := newDoc(a4WidthMM, a4HeightMM, "CN23 "+in.TrackingNumber, in.Date)
	d.AliasNbPages("{nb}")
	footer := func() {
		d.text(m, a4HeightMM-m-4, w, 4, fmt.Sprintf("CN 23  %s  page %d of {nb}", in.TrackingNumber, d.PageNo()), "", 7, "R")
	}
	d.SetLineWidth(0.3)

	d.text(m, m, 100, 9, "CUSTOMS DECLARATION", "B", 16, "L")
	d.text(m, m+9, 100, 10, "CN 23", "B", 24, "L")
	d.text(m, m+19, 100, 5, "Designated operator: "+in.Carrier, "", 9, "L")
	d.text(m, m+24, 100, 4, "May be opened officially", "I", 8, "L")
	bx := a4WidthMM - m - sym.widthMM()
	d.barcode("tracking", sym, bx, m, 16)
	d.text(bx, m+17, sym.widthMM(), 6, in.TrackingNumber, "B", 13, "C")
	d.Line(m, 40, m+w, 40)

	half := w / 2
	yFrom := d.addressBox(m, 42, half-2, "FROM (sender)", in.From, 10, 4.5)
	yTo := d.addressBox(m+half+2, 42, half-2, "TO (addressee)", in.To, 10, 4.5)
	y := max(yFrom, yTo) + 1
	d.text(m, y, half-2, 4.5, "Sender's reference: "+in.Reference, "", 8, "L")
	d.text(m+half+2, y, half-2, 4.5, "Importer's reference (tax code/VAT No.): "+in.ImporterReference, "", 8, "L")
	y += 6
	d.Line(m, y, m+w, y)

	y = d.checkboxes(m, y+1.5, w, 5, 6, 8) + 1.5
	d.Line(m, y, m+w, y)

	cols := itemColumns(w)
	y = d.tableHead(m, y+2, 9, cols, 8)
	for _, l := range lines {
		if y+cn23RowMM > bottom {
			footer()
			d.AddPage()
			d.text(m, m, w, 6, "CN 23 (continued)  "+in.TrackingNumber, "B", 11, "L")
			y = d.tableHead(m, m+8, 9, cols, 8)
		}
		d.row(m, y, cn23RowMM, cols, l.cells(), "", 8.5)
		y += cn23RowMM
	}

	const tail = 7 + 4 + 20 + 22 // totals, gap, certification, date and signature
	if y+tail > bottom {
		footer()
		d.AddPage()
		d.text(m, m, w, 6, "CN 23 (continued)  "+in.TrackingNumber, "B", 11, "L")
		y = m + 8
	}
	d.row(m, y, 7, cols, []string{"Total gross weight " + grams(in.GrossWeightGrams) + "; totals", "",
		strings.TrimSuffix(grams(net), " kg"), amount(total) + " " + total.Currency, "", ""}, "B", 9)
	y += 11
	d.text(m, y, w, 5, "Invoice No. "+in.Reference, "", 9, "L")
	y += 6
	y = d.lines(m, y, w, 4, certification, "", 8.5, 4) + 2
	d.signature(m, y, w, in.Date, in.From.Name, 10)
	footer()
	return d.bytes()
}
