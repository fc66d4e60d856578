package paper

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/customs"
	"github.com/crossdock/crossdock/logistics"
)

var (
	shenzhen = logistics.Address{Name: "Shenzhen Widgets Co.", Line1: "12 Keji Road", Line2: "Nanshan", City: "Shenzhen",
		Region: "GD", PostalCode: "518000", Country: "CN", Phone: "+8613800138000"}
	manila = logistics.Address{Name: "Juan dela Cruz", Line1: "45 Rizal Avenue", Line2: "Unit 7B", City: "Manila",
		Region: "NCR", PostalCode: "1000", Country: "PH", Phone: "+639171234567"}
	cutoff = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
)

func labelInput(tracking string) LabelInput {
	return LabelInput{TrackingNumber: tracking, Carrier: "sbx_local", Service: "standard", From: shenzhen, To: manila,
		WeightGrams: 1250, Reference: "ORDER-1001", Date: cutoff, DeclarationForm: customs.FormCN22}
}

// trackingNumbers mix letters and digits the ways carriers do: S10 postal
// numbers, a UPS-style number, an all-digit SSCC (Code 128 set C), lower
// case and punctuation.
var trackingNumbers = []string{"SBXL000123PH", "LX123456789CN", "1Z999AA10123456784", "00340434161094042557", "sl-2026.11_25x", "A"}

func TestLabelBarcodeScansFromThePDF(t *testing.T) {
	for _, tn := range trackingNumbers {
		t.Run(tn, func(t *testing.T) {
			b, err := Label(labelInput(tn))
			require.NoError(t, err)
			pdf := parsePDF(t, b)

			require.Equal(t, 1, pdf.pages)
			assert.InDelta(t, 288, pdf.dimsPt[0][0], 0.01, "4 inches wide")
			assert.InDelta(t, 432, pdf.dimsPt[0][1], 0.01, "6 inches tall")

			require.Len(t, pdf.images, 1, "the barcode is the label's one image")
			assert.Equal(t, tn, decodeCode128(t, pdf.images[0]))

			// Big enough to scan: modules of at least 0.25 mm, bars 25 mm tall.
			placed := imagePlacements(t, pdf.content)
			require.Len(t, placed, 1)
			assert.GreaterOrEqual(t, placed[0].widthPt/float64(pdf.images[0].Width), mmToPt(0.25)-0.01, "module width")
			assert.InDelta(t, mmToPt(25), placed[0].heightPt, 0.1, "bar height")

			for _, want := range []string{"(" + tn + ")", "(Manila NCR 1000)", "(PHILIPPINES \\(PH\\))", "(Juan dela Cruz)",
				"(Shenzhen GD 518000)", "(CHINA)", "(SBX_LOCAL)", "(standard)", "(1.250 kg)", "(ORDER-1001)", "(2026-11-25)", "(CN22)"} {
				assert.Contains(t, pdf.content, want)
			}
		})
	}
}

func TestLabelShowsTheCustomsFormOnlyWhenThereIsOne(t *testing.T) {
	in := labelInput("SBXL000123PH")
	in.DeclarationForm = ""
	b, err := Label(in)
	require.NoError(t, err)
	content := parsePDF(t, b).content
	assert.NotContains(t, content, "(CUSTOMS)")

	in.DeclarationForm = customs.FormCommercialInvoice
	b, err = Label(in)
	require.NoError(t, err)
	content = parsePDF(t, b).content
	assert.Contains(t, content, "(CUSTOMS)")
	assert.Contains(t, content, "(INVOICE)")
}

func TestLabelRefusesBadInput(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*LabelInput)
		field   string
		problem string
	}{
		{"empty tracking number", func(in *LabelInput) { in.TrackingNumber = "" }, "tracking_number", "is required"},
		{"tracking number outside Code 128", func(in *LabelInput) { in.TrackingNumber = "SBX€123" }, "tracking_number", "Code 128"},
		{"tracking number with a space", func(in *LabelInput) { in.TrackingNumber = "SBX 123" }, "tracking_number", "letters, digits"},
		{"tracking number too long to scan", func(in *LabelInput) { in.TrackingNumber = strings.Repeat("AB", 32) }, "tracking_number", "too long for a scannable barcode"},
		{"no carrier", func(in *LabelInput) { in.Carrier = " " }, "carrier", "is required"},
		{"recipient without city", func(in *LabelInput) { in.To.City = "" }, "to.city", "is required"},
		{"sender with a bad country", func(in *LabelInput) { in.From.Country = "China" }, "from.country", "ISO 3166-1"},
		{"control character in a name", func(in *LabelInput) { in.To.Name = "Juan\x00" }, "to.name", "control characters"},
		{"zero weight", func(in *LabelInput) { in.WeightGrams = 0 }, "weight_grams", "positive"},
		{"no reference", func(in *LabelInput) { in.Reference = "" }, "reference", "is required"},
		{"no date", func(in *LabelInput) { in.Date = time.Time{} }, "date", "is required"},
		{"unknown customs form", func(in *LabelInput) { in.DeclarationForm = "CN99" }, "declaration_form", "CN22"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := labelInput("SBXL000123PH")
			tt.change(&in)
			b, err := Label(in)
			require.Error(t, err)
			assert.Nil(t, b)
			requireProblem(t, err, tt.field, tt.problem)
		})
	}
}

func TestLabelIsDeterministic(t *testing.T) {
	first, err := Label(labelInput("LX123456789CN"))
	require.NoError(t, err)
	second, err := Label(labelInput("LX123456789CN"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(first, second), "the same input must give the same bytes")

	// And the bytes do depend on the input: a later date is a different file.
	later := labelInput("LX123456789CN")
	later.Date = cutoff.AddDate(0, 0, 1)
	third, err := Label(later)
	require.NoError(t, err)
	assert.False(t, bytes.Equal(first, third))
}

func TestLabelPrintsNonLatinAddresses(t *testing.T) {
	in := labelInput("SBXL000123PH")
	in.To = logistics.Address{Name: "王小明", Line1: "Улица Арбат 1", City: "北京", Country: "CN"}
	in.From.Name = "Łukasz Żółć"
	b, err := Label(in)
	require.NoError(t, err)
	content := parsePDF(t, b).content
	assert.Contains(t, content, "(Wang Xiao Ming)")
	assert.Contains(t, content, "(Ulitsa Arbat 1)")
	assert.Contains(t, content, "(Bei Jing)")
	// ó is in Windows-1252 and stays; Ł and Ż are not and lose their marks.
	assert.Contains(t, content, "(Lukasz Z\xf3lc)")
}

func TestLabelShrinksThenCutsTextThatDoesNotFit(t *testing.T) {
	in := labelInput("SBXL000123PH")
	in.To.Line1 = strings.Repeat("Very long street name ", 8)
	b, err := Label(in)
	require.NoError(t, err)
	content := parsePDF(t, b).content
	assert.Contains(t, content, "\x85)", "a cut line ends in an ellipsis")
	assert.NotContains(t, content, "("+strings.TrimSpace(in.To.Line1)+")")
	assert.Contains(t, content, "(Manila NCR 1000)", "the fields below are still printed")
}

func TestPDFText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Manila", "Manila"},
		{"Müller & Søn, 5 €", "M\xfcller & S\xf8n, 5 \x80"}, // all in Windows-1252
		{"Łódź", "L\xf3dz"},
		{"Москва", "Moskva"},
		{"北京市", "Bei Jing Shi"},
		{"Αθήνα", "Athena"},
		{"tab\there\nnewline", "tab here newline"},
		{"\U0001F600 smile", "? smile"}, // nothing to transliterate an emoji to
		{"bad \xff byte", "bad ? byte"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, pdfText(tt.in))
		})
	}
}

// requireProblem asserts err is an invalid_request *logistics.Error with a
// detail for field whose problem contains problem.
func requireProblem(t *testing.T, err error, field, problem string) {
	t.Helper()
	var e *logistics.Error
	require.True(t, errors.As(err, &e), "want a *logistics.Error, got %T: %v", err, err)
	assert.Equal(t, logistics.CodeInvalid, e.Code)
	for _, d := range e.Details {
		if d.Field == field && strings.Contains(d.Problem, problem) {
			return
		}
	}
	t.Errorf("no problem %q for field %q in %+v", problem, field, e.Details)
}
