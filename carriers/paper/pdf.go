package paper

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/crossdock/crossdock/logistics"
)

const (
	// font is the PDF core font used throughout (no font file to embed).
	font = "Helvetica"
	// minFontSize is the smallest size text shrinks to before it is cut.
	minFontSize = 5.0
	// ptMM is one typographic point in millimetres.
	ptMM = 25.4 / 72
)

// doc is a PDF being drawn, in millimetres, with the helpers every page of
// this package uses.
type doc struct {
	*fpdf.Fpdf
}

// newDoc starts a one-page PDF of the given size whose metadata depends only
// on its arguments: fixed dates, sorted catalogs, no generation time, so the
// same input renders the same bytes.
func newDoc(widthMM, heightMM float64, title string, date time.Time) doc {
	f := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", Size: fpdf.SizeType{Wd: widthMM, Ht: heightMM}})
	f.SetCompression(true)
	f.SetCatalogSort(true)
	f.SetCreationDate(date)
	f.SetModificationDate(date)
	f.SetProducer("Crossdock", false)
	f.SetCreator("Crossdock carriers/paper", false)
	f.SetTitle(title, true)
	f.SetAutoPageBreak(false, 0)
	f.SetMargins(0, 0, 0)
	f.SetCellMargin(0) // boxes are measured exactly; padding is explicit
	f.SetTextColor(0, 0, 0)
	f.SetDrawColor(0, 0, 0)
	f.AddPage()
	return doc{f}
}

// bytes finishes the document.
func (d doc) bytes() ([]byte, error) {
	var buf bytes.Buffer
	if err := d.Output(&buf); err != nil {
		return nil, fmt.Errorf("rendering the PDF: %w", err)
	}
	return buf.Bytes(), nil
}

// text prints s (UTF-8, converted by pdfText) on one line in the box at x, y
// of width w and height h, vertically centred. Text too wide for the box
// shrinks down to minFontSize, then is cut with an ellipsis: a label never
// spills into the next field.
func (d doc) text(x, y, w, h float64, s, style string, size float64, align string) {
	d.fit(x, y, w, h, pdfText(s), style, size, align)
}

// fit is text for s already in Windows-1252.
func (d doc) fit(x, y, w, h float64, s, style string, size float64, align string) {
	d.SetFont(font, style, size)
	for d.GetStringWidth(s) > w && size > minFontSize {
		size = max(minFontSize, size-0.5)
		d.SetFont(font, style, size)
	}
	if d.GetStringWidth(s) > w {
		const ellipsis = "\x85" // "…" in Windows-1252
		for len(s) > 0 && d.GetStringWidth(s+ellipsis) > w {
			s = s[:len(s)-1]
		}
		s += ellipsis
	}
	d.SetXY(x, y)
	d.CellFormat(w, h, s, "", 0, align, false, 0, "")
}

// lines prints s wrapped at spaces over at most maxLines lines of height
// lineH in a box of width w (the last line shrinks or is cut, as in text)
// and returns the y below it.
func (d doc) lines(x, y, w, lineH float64, s, style string, size float64, maxLines int) float64 {
	d.SetFont(font, style, size)
	var out []string
	cur := ""
	for _, word := range strings.Fields(pdfText(s)) {
		next := strings.TrimSpace(cur + " " + word)
		if cur != "" && d.GetStringWidth(next) > w {
			out, cur = append(out, cur), word
			continue
		}
		cur = next
	}
	if cur != "" {
		out = append(out, cur)
	}
	if len(out) > maxLines {
		out = append(out[:maxLines-1], strings.Join(out[maxLines-1:], " "))
	}
	for _, l := range out {
		d.fit(x, y, w, lineH, l, style, size, "L")
		y += lineH
	}
	return y
}

// barcode places sym with its top-left corner at x, y and its bars h tall.
func (d doc) barcode(name string, sym symbol, x, y, h float64) {
	opt := fpdf.ImageOptions{ImageType: "PNG", ReadDpi: false}
	d.RegisterImageOptionsReader(name, opt, bytes.NewReader(sym.png))
	d.ImageOptions(name, x, y, sym.widthMM(), h, false, opt, 0, "")
}

// addressLines are the lines of an address block, empty ones left out:
// name, street lines, "City Region PostalCode", then the country in full.
func addressLines(a logistics.Address) []string {
	var out []string
	for _, s := range []string{a.Name, a.Line1, a.Line2, strings.Join(strings.Fields(a.City+" "+a.Region+" "+a.PostalCode), " ")} {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return append(out, countryName(a.Country))
}

// checkText adds a problem for field unless s is printable text (see
// logistics.ValidText), and non-blank when required.
func checkText(p *[]logistics.FieldProblem, field, s string, required bool) {
	switch {
	case !logistics.ValidText(s):
		*p = append(*p, logistics.FieldProblem{Field: field, Problem: "must be valid UTF-8 without control characters"})
	case required && strings.TrimSpace(s) == "":
		*p = append(*p, logistics.FieldProblem{Field: field, Problem: "is required"})
	}
}

// addressProblems validates an address with the contract's rules
// (logistics.Address.Validate), naming its fields under field.
func addressProblems(p *[]logistics.FieldProblem, field string, a logistics.Address) {
	if err := a.Validate(field); err != nil {
		var e *logistics.Error
		if errors.As(err, &e) {
			*p = append(*p, e.Details...)
			return
		}
		*p = append(*p, logistics.FieldProblem{Field: field, Problem: err.Error()})
	}
}

// invalid returns the package's error for bad input: a logistics.Error with
// code invalid_request and one detail per bad field, or nil.
func invalid(message string, p []logistics.FieldProblem) error {
	if len(p) == 0 {
		return nil
	}
	return &logistics.Error{Code: logistics.CodeInvalid, Message: message, Details: p}
}
