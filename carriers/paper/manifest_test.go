package paper

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
)

const manifestHeader = "carrier,account,manifest_date,tracking_number,reference,service,recipient_name,line1,line2,city," +
	"region,postal_code,country,phone,weight_grams,pieces,declared_value,currency,contents"

func money(amount, currency string) logistics.Money {
	return logistics.Money{Amount: decimal.RequireFromString(amount), Currency: currency}
}

func manifest() Manifest {
	return Manifest{Carrier: "sbx_local", Account: "ACC-778", Date: cutoff, Lines: []ManifestLine{
		{TrackingNumber: "SBXL000123PH", Reference: "ORDER-1001", Service: "standard", RecipientName: "Juan dela Cruz",
			Line1: "45 Rizal Avenue", Line2: "Unit 7B", City: "Manila", Region: "NCR", PostalCode: "1000", Country: "PH",
			Phone: "+639171234567", WeightGrams: 1250, Pieces: 1, DeclaredValue: money("53.99", "USD"), Contents: "T-shirts, mugs"},
		{TrackingNumber: "SBXL000124PH", Reference: "ORDER-1002", Service: "standard", RecipientName: `Maria "Ria" Santos`,
			Line1: "Flat 2, The Oaks", City: "Quezon City", Country: "PH", WeightGrams: 300, Pieces: 2,
			DeclaredValue: money("1500", "PHP"), Contents: "Books\nsecond line"},
		{TrackingNumber: "SBXL000125PH", Reference: "ORDER-1003", Service: "economy", RecipientName: "Łukasz Żółć 王小明",
			Line1: "  leading spaces", City: "Cebu", Country: "PH", WeightGrams: 1, Pieces: 1,
			DeclaredValue: money("0.125", "KWD"), Contents: "'quoted already"},
	}}
}

func write(t *testing.T, m Manifest) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, WriteManifest(&buf, m))
	return buf.String()
}

// requireSameManifest compares manifests field by field, amounts by value
// ("12.50" and "12.5" are the same money).
func requireSameManifest(t *testing.T, want, got Manifest) {
	t.Helper()
	require.Len(t, got.Lines, len(want.Lines))
	for i := range want.Lines {
		w, g := want.Lines[i], got.Lines[i]
		assert.True(t, w.DeclaredValue.Amount.Equal(g.DeclaredValue.Amount), "line %d: amount %s, want %s", i, g.DeclaredValue.Amount, w.DeclaredValue.Amount)
		w.DeclaredValue.Amount, g.DeclaredValue.Amount = decimal.Zero, decimal.Zero
		assert.Equal(t, w, g, "line %d", i)
	}
	want.Lines, got.Lines = nil, nil
	assert.Equal(t, want, got)
}

func TestManifestRoundTrip(t *testing.T) {
	m := manifest()
	got, err := ReadManifest(strings.NewReader(write(t, m)))
	require.NoError(t, err)
	requireSameManifest(t, m, got)
	assert.Equal(t, time.UTC, got.Date.Location())
}

func TestManifestRoundTripOfFormulaLikeText(t *testing.T) {
	m := manifest()
	m.Account = "=1+1"
	m.Lines[0].RecipientName = "=HYPERLINK(\"http://evil.example\",\"click\")"
	m.Lines[0].Line1 = "+44 Main St"
	m.Lines[0].Line2 = "-2 floor"
	m.Lines[0].City = "@SUM(A1:A2)"
	m.Lines[0].Contents = "''two apostrophes"
	m.Lines[1].Reference = "'"
	got, err := ReadManifest(strings.NewReader(write(t, m)))
	require.NoError(t, err)
	requireSameManifest(t, m, got)
}

func TestManifestHeaderIsExact(t *testing.T) {
	out := write(t, manifest())
	first, _, ok := strings.Cut(out, "\r\n")
	require.True(t, ok, "rows end in CRLF (RFC 4180)")
	assert.Equal(t, manifestHeader, first)
	assert.Equal(t, strings.Split(manifestHeader, ","), ManifestColumns())
	assert.Equal(t, 4, strings.Count(out, "\r\n")-1, "header, three rows, and one quoted line break")
}

func TestManifestQuoting(t *testing.T) {
	out := write(t, manifest())
	// Row 1: money with its currency's minor unit, comma in contents quoted.
	assert.Contains(t, out, "\r\nsbx_local,ACC-778,2026-11-25,SBXL000123PH,ORDER-1001,standard,Juan dela Cruz,45 Rizal Avenue,"+
		"Unit 7B,Manila,NCR,1000,PH,+639171234567,1250,1,53.99,USD,\"T-shirts, mugs\"\r\n")
	// Row 2: quotes doubled, comma and line break quoted, PHP with 2 decimals.
	assert.Contains(t, out, `,"Maria ""Ria"" Santos","Flat 2, The Oaks",,Quezon City,,,PH,,300,2,1500.00,PHP,"Books`+"\r\n"+`second line"`+"\r\n")
	// Row 3: leading space quoted, KWD keeps its 3 digits, apostrophe doubled.
	assert.Contains(t, out, `,"  leading spaces",`)
	assert.Contains(t, out, ",0.125,KWD,''quoted already\r\n")
}

func TestManifestNeutralisesFormulas(t *testing.T) {
	m := manifest()
	m.Lines[0].RecipientName = "=cmd|' /C calc'!A0"
	m.Lines[0].Line1 = "+1+1"
	m.Lines[0].Line2 = "-1"
	m.Lines[0].City = "@SUM(1)"
	m.Lines[0].Contents = "=1"
	recs, err := csv.NewReader(strings.NewReader(write(t, m))).ReadAll()
	require.NoError(t, err)
	col := func(name string) string { return recs[1][indexOf(t, recs[0], name)] }
	assert.Equal(t, "'=cmd|' /C calc'!A0", col("recipient_name"))
	assert.Equal(t, "'+1+1", col("line1"))
	assert.Equal(t, "'-1", col("line2"))
	assert.Equal(t, "'@SUM(1)", col("city"))
	assert.Equal(t, "'=1", col("contents"))
	// Structured columns are validated instead; an E.164 phone stays as is.
	assert.Equal(t, "+639171234567", col("phone"))
	assert.Equal(t, "SBXL000123PH", col("tracking_number"))
	// No free-text cell of any row starts a formula.
	for _, rec := range recs[1:] {
		for i, v := range rec {
			if freeText[recs[0][i]] && v != "" {
				assert.NotContains(t, "=+-@", v[:1], "column %s", recs[0][i])
			}
		}
	}
}

func indexOf(t *testing.T, header []string, name string) int {
	t.Helper()
	for i, h := range header {
		if h == name {
			return i
		}
	}
	t.Fatalf("no column %s", name)
	return -1
}

// row2 is a good data row matching manifestHeader.
const row2 = "sbx_local,ACC-778,2026-11-25,SBXL000123PH,ORDER-1001,standard,Juan dela Cruz,45 Rizal Avenue,Unit 7B,Manila,NCR,1000,PH,+639171234567,1250,1,53.99,USD,T-shirts\r\n"

// withField returns row2 with one column replaced.
func withField(t *testing.T, name, value string) string {
	t.Helper()
	rec, err := csv.NewReader(strings.NewReader(row2)).Read()
	require.NoError(t, err)
	rec[indexOf(t, strings.Split(manifestHeader, ","), name)] = value
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	require.NoError(t, w.Write(rec))
	w.Flush()
	return buf.String()
}

func TestReadManifestRefuses(t *testing.T) {
	h := manifestHeader + "\r\n"
	tests := []struct {
		name    string
		file    string
		field   string
		problem string
	}{
		{"an empty file", "", "row 1", "header row is required"},
		{"a header without parcels", h, "row 2", "at least one parcel"},
		{"an unknown column", strings.Replace(h, "contents", "content", 1) + row2, "row 1.column 19", `unknown column "content"`},
		{"a missing column", strings.Replace(h, ",contents", "", 1) + row2, "row 1.contents", "column is missing"},
		{"a repeated column", strings.Replace(h, "account", "carrier", 1) + row2, "row 1.carrier", "appears twice"},
		{"a row with too few fields", h + "sbx_local,ACC-778\r\n", "row 2", "has 2 fields, the header has 19"},
		{"a weight that is not a number", h + withField(t, "weight_grams", "1.2kg"), "row 2.weight_grams", `whole number, got "1.2kg"`},
		{"a zero weight", h + withField(t, "weight_grams", "0"), "row 2.weight_grams", "positive"},
		{"negative pieces", h + withField(t, "pieces", "-1"), "row 2.pieces", "at least 1"},
		{"pieces that are not a number", h + withField(t, "pieces", ""), "row 2.pieces", `whole number, got ""`},
		{"an amount with a decimal comma", h + withField(t, "declared_value", "53,99"), "row 2.declared_value", `decimal amount such as 12.50, got "53,99"`},
		{"an amount in exponent form", h + withField(t, "declared_value", "1e3"), "row 2.declared_value", "decimal amount"},
		{"a bad currency", h + withField(t, "currency", "usd"), "row 2.currency", "ISO 4217"},
		{"a bad date", h + withField(t, "manifest_date", "25/11/2026"), "row 2.manifest_date", "YYYY-MM-DD"},
		{"an empty tracking number", h + row2 + withField(t, "tracking_number", ""), "row 3.tracking_number", "is required"},
		{"a tracking number outside Code 128", h + withField(t, "tracking_number", "SBX 1"), "row 2.tracking_number", "letters, digits"},
		{"a repeated tracking number", h + row2 + withField(t, "tracking_number", "SBXL000999PH") + row2, "row 4.tracking_number", "duplicates row 2: SBXL000123PH"},
		{"a second carrier", h + row2 + withField(t, "carrier", "sbx_post"), "row 3.carrier", `is "sbx_post", row 2 has "sbx_local"`},
		{"a second day", h + row2 + withField(t, "manifest_date", "2026-11-26"), "row 3.manifest_date", "one carrier, account and day"},
		{"a bad country", h + withField(t, "country", "Philippines"), "row 2.country", "ISO 3166-1"},
		{"a bad phone", h + withField(t, "phone", "0917 123 4567"), "row 2.phone", "E.164"},
		{"no recipient", h + withField(t, "recipient_name", " "), "row 2.recipient_name", "is required"},
		{"a control character", h + withField(t, "city", "Man\x07ila"), "row 2.city", "control characters"},
		{"a line break outside contents", h + withField(t, "line1", "45 Rizal\nAvenue"), "row 2.line1", "control characters"},
		{"a bare quote", h + "sbx_local,AC\"C\r\n", "line 2", "not valid CSV"},
		// A quoted line break keeps its record on one spreadsheet row: the
		// bad weight is on row 3 although it is on the file's line 4.
		{"rows counted as records", h + withField(t, "contents", "two\nlines") + strings.Replace(withField(t, "weight_grams", "x"), "SBXL000123PH", "SBXL000124PH", 1),
			"row 3.weight_grams", "whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ReadManifest(strings.NewReader(tt.file))
			require.Error(t, err)
			assert.Empty(t, m.Lines)
			requireProblem(t, err, tt.field, tt.problem)
		})
	}
}

func TestReadManifestAcceptsColumnsInAnyOrderAndABOM(t *testing.T) {
	out := write(t, manifest())
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	for _, rec := range recs { // swap the first and last columns
		rec[0], rec[len(rec)-1] = rec[len(rec)-1], rec[0]
	}
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	require.NoError(t, csv.NewWriter(&buf).WriteAll(recs))

	got, err := ReadManifest(&buf)
	require.NoError(t, err)
	requireSameManifest(t, manifest(), got)
}

func TestReadManifestReportsEveryProblemUpToALimit(t *testing.T) {
	var b strings.Builder
	b.WriteString(manifestHeader + "\r\n")
	for range 3 {
		b.WriteString(withField(t, "country", "xx"))
	}
	_, err := ReadManifest(strings.NewReader(b.String()))
	requireProblem(t, err, "row 2.country", "ISO 3166-1")
	requireProblem(t, err, "row 4.country", "ISO 3166-1")
	requireProblem(t, err, "row 4.tracking_number", "duplicates row 2")

	b.Reset()
	b.WriteString(manifestHeader + "\r\n")
	for range 200 {
		b.WriteString(withField(t, "country", "xx"))
	}
	_, err = ReadManifest(strings.NewReader(b.String()))
	var e *logistics.Error
	require.ErrorAs(t, err, &e)
	assert.Len(t, e.Details, maxProblems+1)
	requireProblem(t, err, "manifest", "not listed")
}

func TestWriteManifestRefusesAndWritesNothing(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Manifest)
		field   string
		problem string
	}{
		{"no carrier", func(m *Manifest) { m.Carrier = "" }, "carrier", "is required"},
		{"no date", func(m *Manifest) { m.Date = time.Time{} }, "date", "is required"},
		{"no lines", func(m *Manifest) { m.Lines = nil }, "lines", "at least one parcel"},
		{"empty tracking number", func(m *Manifest) { m.Lines[1].TrackingNumber = "" }, "lines[1].tracking_number", "is required"},
		{"repeated tracking number", func(m *Manifest) { m.Lines[2].TrackingNumber = m.Lines[0].TrackingNumber }, "lines[2].tracking_number", "duplicates lines[0]"},
		{"zero weight", func(m *Manifest) { m.Lines[0].WeightGrams = 0 }, "lines[0].weight_grams", "positive"},
		{"zero pieces", func(m *Manifest) { m.Lines[0].Pieces = 0 }, "lines[0].pieces", "at least 1"},
		{"negative value", func(m *Manifest) { m.Lines[0].DeclaredValue = money("-1", "USD") }, "lines[0].declared_value", "negative"},
		{"no currency", func(m *Manifest) { m.Lines[0].DeclaredValue.Currency = "" }, "lines[0].currency", "ISO 4217"},
		{"carriage return in contents", func(m *Manifest) { m.Lines[0].Contents = "a\r\nb" }, "lines[0].contents", "other than line breaks"},
		{"invalid UTF-8", func(m *Manifest) { m.Lines[0].City = "Man\xffila" }, "lines[0].city", "valid UTF-8"},
		{"bad phone", func(m *Manifest) { m.Lines[0].Phone = "=1+1" }, "lines[0].phone", "E.164"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := manifest()
			tt.change(&m)
			var buf bytes.Buffer
			err := WriteManifest(&buf, m)
			require.Error(t, err)
			assert.Zero(t, buf.Len(), "nothing is written for a bad manifest")
			requireProblem(t, err, tt.field, tt.problem)
		})
	}
}

func TestWriteManifestIsDeterministic(t *testing.T) {
	assert.Equal(t, write(t, manifest()), write(t, manifest()))
}

func TestManifestFileName(t *testing.T) {
	m := manifest()
	assert.Equal(t, "sbx_local-ACC_778-2026-11-25.csv", ManifestFileName(m))
	m.Account = ""
	assert.Equal(t, "sbx_local-2026-11-25.csv", ManifestFileName(m))
	m.Carrier = "../etc/passwd"
	assert.Equal(t, "___etc_passwd-2026-11-25.csv", ManifestFileName(m))
}
