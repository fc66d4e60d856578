package paper

import (
	"fmt"
	"strings"
	"time"

	"github.com/crossdock/crossdock/customs"
	"github.com/crossdock/crossdock/logistics"
)

// Label page size: 4 x 6 inches, the thermal label every carrier accepts.
const (
	labelWidthMM  = 101.6
	labelHeightMM = 152.4
	labelMarginMM = 4.0
	// labelBarHeightMM is the printed height of the tracking barcode's
	// bars, what carriers ask of a sort barcode (at least 20 mm).
	labelBarHeightMM = 25.0
)

// LabelInput is everything a template label shows.
type LabelInput struct {
	// TrackingNumber is printed as a Code 128 barcode and in clear below it.
	TrackingNumber string
	// Carrier and Service name the channel ("sbx_local", "standard").
	Carrier string
	Service string
	// From is the sender, To the recipient; both follow the contract's
	// address rules (logistics.Address.Validate).
	From logistics.Address
	To   logistics.Address
	// WeightGrams is the parcel's gross weight.
	WeightGrams int
	// Reference is the merchant's order reference.
	Reference string
	// Date is the day the label is printed for; it is also the PDF's
	// creation date, so it keeps the output deterministic.
	Date time.Time
	// DeclarationForm is the customs form that travels with the parcel
	// (customs.FormCN22, FormCN23 or FormCommercialInvoice), or "" when the
	// parcel crosses no customs border.
	DeclarationForm string
}

// Label renders a 4 x 6 inch (101.6 x 152.4 mm) PDF shipping label: carrier
// and service, date, sender and recipient blocks, weight, reference, the
// customs form when there is one, and the tracking number as a Code 128
// barcode with the number in clear below it.
//
// Bad input (an empty or unprintable tracking number, a missing address
// field, a non-positive weight, a zero date, an unknown declaration form)
// returns a *logistics.Error with code invalid_request naming each bad
// field. The same input always gives the same bytes.
func Label(in LabelInput) ([]byte, error) {
	var p []logistics.FieldProblem
	if problem := trackingProblem(in.TrackingNumber); problem != "" {
		p = append(p, logistics.FieldProblem{Field: "tracking_number", Problem: problem})
	}
	checkText(&p, "carrier", in.Carrier, true)
	checkText(&p, "service", in.Service, true)
	addressProblems(&p, "from", in.From)
	addressProblems(&p, "to", in.To)
	if in.WeightGrams < 1 {
		p = append(p, logistics.FieldProblem{Field: "weight_grams", Problem: "must be a positive number of grams"})
	}
	checkText(&p, "reference", in.Reference, true)
	if in.Date.IsZero() {
		p = append(p, logistics.FieldProblem{Field: "date", Problem: "is required"})
	}
	switch in.DeclarationForm {
	case "", customs.FormCN22, customs.FormCN23, customs.FormCommercialInvoice:
	default:
		p = append(p, logistics.FieldProblem{Field: "declaration_form",
			Problem: fmt.Sprintf("must be empty, %s, %s or %s", customs.FormCN22, customs.FormCN23, customs.FormCommercialInvoice)})
	}
	var sym symbol
	if len(p) == 0 {
		var err error
		if sym, err = code128Symbol(in.TrackingNumber, labelWidthMM-2*labelMarginMM); err != nil {
			p = append(p, logistics.FieldProblem{Field: "tracking_number", Problem: err.Error()})
		}
	}
	if err := invalid("the label input is invalid", p); err != nil {
		return nil, err
	}

	const m, w = labelMarginMM, labelWidthMM - 2*labelMarginMM
	d := newDoc(labelWidthMM, labelHeightMM, "Label "+in.TrackingNumber, in.Date)
	d.SetLineWidth(0.4)

	// Carrier band.
	d.text(m, m, w*0.68, 9, strings.ToUpper(in.Carrier), "B", 20, "L")
	d.text(m+w*0.68, m, w*0.32, 5, in.Date.Format(time.DateOnly), "", 9, "R")
	d.text(m, m+9, w, 6, in.Service, "B", 12, "L")
	d.Line(m, 21, m+w, 21)

	// Sender: small, so the recipient stands out.
	y := 22.5
	d.text(m, y, w, 3.5, "FROM", "B", 7, "L")
	y += 3.5
	for _, l := range addressLines(in.From) {
		d.text(m, y, w, 3.3, l, "", 8, "L")
		y += 3.3
	}
	d.Line(m, 44, m+w, 44)

	// Recipient: the biggest text on the label, country last and in full.
	y = 45.5
	d.text(m, y, w, 4, "TO", "B", 8, "L")
	y += 4.5
	to := addressLines(in.To)
	for i, l := range to {
		switch {
		case i == len(to)-1:
			d.text(m, y, w, 7, l+" ("+in.To.Country+")", "B", 16, "L")
			y += 7
		case i == len(to)-2:
			d.text(m, y, w, 6.5, l, "B", 14, "L")
			y += 6.5
		default:
			d.text(m, y, w, 5.5, l, "", 11, "L")
			y += 5.5
		}
	}
	if in.To.Phone != "" {
		d.text(m, y, w, 4, "Tel. "+in.To.Phone, "", 9, "L")
	}
	d.Line(m, 94, m+w, 94)

	// Weight, reference and customs.
	col := w / 3
	d.text(m, 95, col, 3.5, "WEIGHT", "B", 7, "L")
	d.text(m, 98.5, col, 6, grams(in.WeightGrams), "B", 12, "L")
	d.text(m+col, 95, col, 3.5, "REFERENCE", "B", 7, "L")
	d.text(m+col, 98.5, col, 6, in.Reference, "", 10, "L")
	if in.DeclarationForm != "" {
		d.SetFillColor(0, 0, 0)
		d.Rect(m+2*col, 95, col, 10, "F")
		d.SetTextColor(255, 255, 255)
		d.text(m+2*col+1, 95, col-2, 3.5, "CUSTOMS", "B", 7, "L")
		d.text(m+2*col+1, 98.5, col-2, 6, formName(in.DeclarationForm), "B", 12, "L")
		d.SetTextColor(0, 0, 0)
	}
	d.Line(m, 107, m+w, 107)

	// The tracking barcode, centred, and the number in clear below it.
	d.text(m, 109, w, 3.5, "TRACKING NUMBER", "B", 7, "C")
	d.barcode("tracking", sym, (labelWidthMM-sym.widthMM())/2, 113, labelBarHeightMM)
	d.text(m, 113+labelBarHeightMM+1.5, w, 7, in.TrackingNumber, "B", 16, "C")
	return d.bytes()
}

// formName is how a declaration form is named on a label.
func formName(form string) string {
	if form == customs.FormCommercialInvoice {
		return "INVOICE"
	}
	return form
}
