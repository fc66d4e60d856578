package paper

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/customs"
	"github.com/crossdock/crossdock/logistics"
)

func item(desc, hs, price string, qty, grams int) logistics.Item {
	return logistics.Item{SKU: "SKU-" + hs, Description: desc, Quantity: qty, HSCode: hs, OriginCountry: "CN", WeightGrams: grams,
		UnitPrice: logistics.Money{Amount: decimal.RequireFromString(price), Currency: "USD"}, DangerousGoods: logistics.DGNone}
}

func formInput(form, tracking string) CustomsFormInput {
	return CustomsFormInput{Form: form, TrackingNumber: tracking, Carrier: "sbx_post", From: shenzhen, To: manila,
		Items: []logistics.Item{
			item("Cotton T-shirt", "610910", "12.50", 2, 180),
			item("Phone case, silicone", "392690", "4.99", 1, 60),
			item("Ceramic mug (boxed)", "691200", "8.00", 3, 350),
		},
		GrossWeightGrams: 1650, Reference: "ORDER-1001", ImporterReference: "IM3720000001", Date: cutoff}
}

func TestCustomsFormBarcodeAndContents(t *testing.T) {
	for _, form := range []string{customs.FormCN22, customs.FormCN23} {
		for _, tn := range trackingNumbers {
			t.Run(form+"/"+tn, func(t *testing.T) {
				b, err := CustomsForm(formInput(form, tn))
				require.NoError(t, err)
				pdf := parsePDF(t, b)

				require.Equal(t, 1, pdf.pages)
				if form == customs.FormCN22 {
					assert.InDelta(t, 288, pdf.dimsPt[0][0], 0.01, "a CN22 is a 4x6 inch label")
					assert.InDelta(t, 432, pdf.dimsPt[0][1], 0.01)
				} else {
					assert.InDelta(t, mmToPt(210), pdf.dimsPt[0][0], 0.01, "a CN23 is A4")
					assert.InDelta(t, mmToPt(297), pdf.dimsPt[0][1], 0.01)
				}
				require.Len(t, pdf.images, 1)
				assert.Equal(t, tn, decodeCode128(t, pdf.images[0]))
				placed := imagePlacements(t, pdf.content)
				require.Len(t, placed, 1)
				assert.GreaterOrEqual(t, placed[0].widthPt/float64(pdf.images[0].Width), mmToPt(0.25)-0.01, "module width")

				name := map[string]string{customs.FormCN22: "CN 22", customs.FormCN23: "CN 23"}[form]
				for _, want := range []string{
					"(" + name + ")", "(CUSTOMS DECLARATION)", "(" + tn + ")",
					"(Shenzhen Widgets Co.)", "(Juan dela Cruz)", "(Manila NCR 1000)", "(PHILIPPINES)",
					"(Sale of goods)", "(X)",
					// each line: description, quantity, net weight, line value, HS number, origin
					"(Cotton T-shirt)", "(0.360)", "(25.00 USD)", "(610910)",
					"(Phone case, silicone)", "(0.060)", "(4.99 USD)", "(392690)",
					"(Ceramic mug \\(boxed\\))", "(1.050)", "(24.00 USD)", "(691200)",
					"(CN)",
					// totals: net 1.470 kg of 1.650 kg gross, USD 53.99
					"(1.470)", "(53.99 USD)", "1.650 kg",
					"(Invoice No. ORDER-1001)", "IM3720000001", "(Date: 2026-11-25)",
				} {
					assert.Contains(t, pdf.content, want)
				}
			})
		}
	}
}

func TestCN23ContinuesOverPagesWithoutLosingALine(t *testing.T) {
	in := formInput(customs.FormCN23, "LX123456789CN")
	in.Items = nil
	const n = 75
	for i := range n {
		in.Items = append(in.Items, item(fmt.Sprintf("Sticker pack %d", i), fmt.Sprintf("4911%04d", i), "1.00", 1, 10))
	}
	in.GrossWeightGrams = 1000
	b, err := CustomsForm(in)
	require.NoError(t, err)
	pdf := parsePDF(t, b)

	require.GreaterOrEqual(t, pdf.pages, 2, "75 lines do not fit one A4 page")
	for i := range n {
		assert.Contains(t, pdf.content, fmt.Sprintf("(4911%04d)", i), "line %d", i)
	}
	assert.Contains(t, pdf.content, "(75.00 USD)")
	assert.Contains(t, pdf.content, "(0.750)")
	assert.Contains(t, pdf.content, fmt.Sprintf("page %d of %d", pdf.pages, pdf.pages))
	require.Len(t, pdf.images, 1, "the barcode is on the first page only")
	assert.Equal(t, "LX123456789CN", decodeCode128(t, pdf.images[0]))
}

func TestCustomsFormRefusesBadInput(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*CustomsFormInput)
		field   string
		problem string
	}{
		{"unsupported form", func(in *CustomsFormInput) { in.Form = "commercial_invoice" }, "form", "must be CN22 or CN23"},
		{"no form", func(in *CustomsFormInput) { in.Form = "" }, "form", "must be CN22 or CN23"},
		{"empty tracking number", func(in *CustomsFormInput) { in.TrackingNumber = "" }, "tracking_number", "is required"},
		{"tracking number outside Code 128", func(in *CustomsFormInput) { in.TrackingNumber = "ЯX123" }, "tracking_number", "Code 128"},
		{"no items", func(in *CustomsFormInput) { in.Items = nil }, "items", "at least one"},
		{"too many lines for a CN22", func(in *CustomsFormInput) {
			for range MaxCN22Items {
				in.Items = append(in.Items, in.Items[0])
			}
			in.GrossWeightGrams = 10000
		}, "items", "use a CN23"},
		{"two currencies", func(in *CustomsFormInput) { in.Items[1].UnitPrice.Currency = "EUR" }, "items[1].unit_price.currency", "one currency"},
		{"bad HS code", func(in *CustomsFormInput) { in.Items[2].HSCode = "6912" }, "items[2].hs_code", "6 to 10 digits"},
		{"bad origin", func(in *CustomsFormInput) { in.Items[0].OriginCountry = "" }, "items[0].origin_country", "ISO 3166-1"},
		{"zero quantity", func(in *CustomsFormInput) { in.Items[0].Quantity = 0 }, "items[0].quantity", "between 1"},
		{"negative price", func(in *CustomsFormInput) { in.Items[0].UnitPrice.Amount = decimal.NewFromInt(-1) }, "items[0].unit_price.amount", "negative"},
		{"no description", func(in *CustomsFormInput) { in.Items[0].Description = "" }, "items[0].description", "is required"},
		{"gross below net", func(in *CustomsFormInput) { in.GrossWeightGrams = 1000 }, "gross_weight_grams", "net weight (1470 g)"},
		{"recipient without a street", func(in *CustomsFormInput) { in.To.Line1 = "" }, "to.line1", "is required"},
		{"no date", func(in *CustomsFormInput) { in.Date = time.Time{} }, "date", "is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := formInput(customs.FormCN22, "SBXL000123PH")
			in.Items = append([]logistics.Item(nil), in.Items...)
			tt.change(&in)
			b, err := CustomsForm(in)
			require.Error(t, err)
			assert.Nil(t, b)
			requireProblem(t, err, tt.field, tt.problem)
		})
	}
}

func TestCustomsFormIsDeterministic(t *testing.T) {
	for _, form := range []string{customs.FormCN22, customs.FormCN23} {
		t.Run(form, func(t *testing.T) {
			first, err := CustomsForm(formInput(form, "SBXL000123PH"))
			require.NoError(t, err)
			second, err := CustomsForm(formInput(form, "SBXL000123PH"))
			require.NoError(t, err)
			assert.True(t, bytes.Equal(first, second), "the same input must give the same bytes")

			other := formInput(form, "SBXL000123PH")
			other.Items = append([]logistics.Item(nil), other.Items...)
			other.Items[0].Quantity = 3
			third, err := CustomsForm(other)
			require.NoError(t, err)
			assert.False(t, bytes.Equal(first, third))
		})
	}
}

func TestCustomsFormPrintsNonLatinText(t *testing.T) {
	in := formInput(customs.FormCN23, "SBXL000123PH")
	in.Items = append([]logistics.Item(nil), in.Items...)
	in.Items[0].Description = "Чайник (electric kettle)"
	in.To = logistics.Address{Name: "Ольга Петрова", Line1: "ул. Ленина 5", City: "Москва", Country: "RU"}
	b, err := CustomsForm(in)
	require.NoError(t, err)
	content := parsePDF(t, b).content
	assert.Contains(t, content, "(Chainik \\(electric kettle\\))")
	assert.Contains(t, content, "(Ol'ga Petrova)")
	assert.Contains(t, content, "(Moskva)")
	assert.Contains(t, content, "(RUSSIA)")
	assert.False(t, strings.Contains(content, "\xd0"), "no UTF-8 bytes of Cyrillic may reach the page")
}
