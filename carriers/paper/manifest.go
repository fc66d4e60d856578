package paper

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/crossdock/crossdock/logistics"
)

// Manifest is a batch-only carrier's end-of-day list of the parcels handed
// to it: one carrier account, one cut-off day.
type Manifest struct {
	// Carrier is the carrier's code in Crossdock ("sbx_local").
	Carrier string
	// Account is Crossdock's account with the carrier, if it has one.
	Account string
	// Date is the cut-off day. Only its calendar day (in its own location)
	// is written; ReadManifest returns that day at midnight UTC.
	Date time.Time
	// Lines are the parcels, one per tracking number.
	Lines []ManifestLine
}

// ManifestLine is one parcel of a manifest.
type ManifestLine struct {
	TrackingNumber string
	// Reference is the order id the parcel belongs to.
	Reference     string
	Service       string
	RecipientName string
	Line1         string
	Line2         string
	City          string
	Region        string
	PostalCode    string
	// Country is the ISO 3166-1 alpha-2 code of the destination.
	Country string
	// Phone is the recipient's phone in E.164 form, or "".
	Phone       string
	WeightGrams int
	Pieces      int
	// DeclaredValue is the value of the contents; in the file it is a
	// decimal string ("12.50") with the currency in its own column.
	DeclaredValue logistics.Money
	// Contents says what is in the parcel; it may span lines.
	Contents string
}

// The manifest's columns, in the order WriteManifest writes them. Carrier,
// account and cut-off day are repeated on every row so that each row stands
// alone when a carrier's system splits or merges files; ManifestFileName
// carries them too, for people.
const (
	colCarrier        = "carrier"
	colAccount        = "account"
	colManifestDate   = "manifest_date"
	colTrackingNumber = "tracking_number"
	colReference      = "reference"
	colService        = "service"
	colRecipientName  = "recipient_name"
	colLine1          = "line1"
	colLine2          = "line2"
	colCity           = "city"
	colRegion         = "region"
	colPostalCode     = "postal_code"
	colCountry        = "country"
	colPhone          = "phone"
	colWeightGrams    = "weight_grams"
	colPieces         = "pieces"
	colDeclaredValue  = "declared_value"
	colCurrency       = "currency"
	colContents       = "contents"
)

var manifestColumns = []string{colCarrier, colAccount, colManifestDate, colTrackingNumber, colReference, colService,
	colRecipientName, colLine1, colLine2, colCity, colRegion, colPostalCode, colCountry, colPhone, colWeightGrams,
	colPieces, colDeclaredValue, colCurrency, colContents}

// ManifestColumns returns the manifest's header row: the fixed snake_case
// column names in the order WriteManifest writes them.
func ManifestColumns() []string { return slices.Clone(manifestColumns) }

// freeText are the columns whose values are neutralised against formula
// injection (see WriteManifest). The others are checked against patterns
// that cannot start a formula (phone is "+" and digits: a number, not a call).
var freeText = map[string]bool{colCarrier: true, colAccount: true, colReference: true, colService: true,
	colRecipientName: true, colLine1: true, colLine2: true, colCity: true, colRegion: true, colPostalCode: true,
	colContents: true}

const (
	// maxManifestLines bounds what ReadManifest holds in memory; a day of
	// one carrier account is far below it.
	maxManifestLines = 100000
	// maxProblems bounds the details of one error.
	maxProblems = 100
)

var (
	phonePattern  = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	amountPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	// formulaStart are the first characters spreadsheets read as a formula
	// (OWASP "CSV injection"), plus the apostrophe that escapes them.
	formulaStart = "=+-@'"
)

// ManifestFileName is the conventional name of m's file:
// "{carrier}-{YYYY-MM-DD}.csv", or "{carrier}-{account}-{YYYY-MM-DD}.csv"
// when there is an account ("sbx_local-2026-11-25.csv"). Characters other
// than letters, digits and "_" become "_", so the name is safe on any file
// system. The file's rows carry the same values; the rows are authoritative.
func ManifestFileName(m Manifest) string {
	safe := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') {
				return r
			}
			return '_'
		}, s)
	}
	parts := []string{safe(m.Carrier)}
	if m.Account != "" {
		parts = append(parts, safe(m.Account))
	}
	return strings.Join(append(parts, m.Date.Format(time.DateOnly)), "-") + ".csv"
}

// WriteManifest writes m as CSV (RFC 4180: CRLF line ends, fields quoted
// when they hold a comma, a quote, a line break or leading space): the
// header of ManifestColumns, then one row per line. Money is a decimal
// string with at least the currency's minor-unit digits and the currency in
// its own column.
//
// Free-text values (names, address lines, references, contents) that begin
// with = + - @ get a leading apostrophe, so a spreadsheet shows them as
// text instead of running them as a formula; a value that begins with an
// apostrophe gets one more, so ReadManifest, which removes one leading
// apostrophe, gives back exactly what was written.
//
// m is checked first (as ReadManifest checks a file: a carrier, a day, at
// least one line, tracking numbers present and unique, positive weights and
// pieces, a valid country, phone, value and currency, text without control
// characters other than line breaks); a bad manifest returns a
// *logistics.Error with code invalid_request naming each bad field
// ("lines[3].weight_grams") and nothing is written.
func WriteManifest(w io.Writer, m Manifest) error {
	p := problemList{}
	checkManifestText(&p, colCarrier, m.Carrier, true, false)
	checkManifestText(&p, colAccount, m.Account, false, false)
	if m.Date.IsZero() {
		p.add("date", "is required")
	}
	if len(m.Lines) == 0 {
		p.add("lines", "must contain at least one parcel; a day without parcels needs no manifest")
	}
	if len(m.Lines) > maxManifestLines {
		p.add("lines", "must contain at most %d parcels", maxManifestLines)
	}
	seen := map[string]int{}
	for i, l := range m.Lines {
		at := fmt.Sprintf("lines[%d].", i)
		checkLine(&p, at, l)
		if first, ok := seen[l.TrackingNumber]; ok && l.TrackingNumber != "" {
			p.add(at+colTrackingNumber, "duplicates lines[%d]: %s", first, l.TrackingNumber)
		} else {
			seen[l.TrackingNumber] = i
		}
	}
	if err := invalid("the manifest is invalid", p.list); err != nil {
		return err
	}

	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(manifestColumns); err != nil {
		return fmt.Errorf("writing the manifest header: %w", err)
	}
	date := m.Date.Format(time.DateOnly)
	for _, l := range m.Lines {
		values := map[string]string{
			colCarrier: m.Carrier, colAccount: m.Account, colManifestDate: date, colTrackingNumber: l.TrackingNumber,
			colReference: l.Reference, colService: l.Service, colRecipientName: l.RecipientName, colLine1: l.Line1,
			colLine2: l.Line2, colCity: l.City, colRegion: l.Region, colPostalCode: l.PostalCode, colCountry: l.Country,
			colPhone: l.Phone, colWeightGrams: strconv.Itoa(l.WeightGrams), colPieces: strconv.Itoa(l.Pieces),
			colDeclaredValue: amount(l.DeclaredValue), colCurrency: l.DeclaredValue.Currency, colContents: l.Contents,
		}
		rec := make([]string, len(manifestColumns))
		for i, c := range manifestColumns {
			rec[i] = values[c]
			if freeText[c] && rec[i] != "" && strings.ContainsRune(formulaStart, rune(rec[i][0])) {
				rec[i] = "'" + rec[i]
			}
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("writing manifest line %s: %w", l.TrackingNumber, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing the manifest: %w", err)
	}
	return nil
}

// ReadManifest parses a manifest written by WriteManifest (the carrier side
// of a batch-only carrier). Columns may come in any order but must be
// exactly ManifestColumns; a UTF-8 byte order mark is ignored; one leading
// apostrophe is removed from free-text values (see WriteManifest).
//
// Every row must name the same carrier, account and cut-off day. A bad file
// (unknown, missing or repeated columns, a row with the wrong number of
// fields, a bad number, amount or date, an empty or repeated tracking number,
// no parcels, and every check WriteManifest makes) returns a
// *logistics.Error with code invalid_request whose details name the row and
// column ("row 3.weight_grams"). Rows are counted as a spreadsheet shows
// them: the header is row 1, and a quoted line break does not start a row.
func ReadManifest(r io.Reader) (Manifest, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return Manifest{}, invalid("the manifest is invalid", []logistics.FieldProblem{{Field: "row 1",
			Problem: "is missing; the header row is required: " + strings.Join(manifestColumns, ",")}})
	}
	if err != nil {
		return Manifest{}, csvError(err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	p := problemList{}
	index := map[string]int{}
	for i, name := range header {
		_, dup := index[name]
		switch {
		case !slices.Contains(manifestColumns, name):
			p.add(fmt.Sprintf("row 1.column %d", i+1), "unknown column %q; the columns are %s", name, strings.Join(manifestColumns, ","))
		case dup:
			p.add("row 1."+name, "column appears twice")
		default:
			index[name] = i
		}
	}
	for _, name := range manifestColumns {
		if _, ok := index[name]; !ok {
			p.add("row 1."+name, "column is missing")
		}
	}
	if err := invalid("the manifest is invalid", p.list); err != nil {
		return Manifest{}, err
	}

	var m Manifest
	var firstDay string // row 2's manifest_date as written
	seen := map[string]int{}
	for row := 2; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Manifest{}, csvError(err)
		}
		if row-1 > maxManifestLines {
			p.add("manifest", "holds more than %d parcels", maxManifestLines)
			break
		}
		at := fmt.Sprintf("row %d.", row)
		if len(rec) != len(header) {
			p.add(fmt.Sprintf("row %d", row), "has %d fields, the header has %d", len(rec), len(header))
			continue
		}
		col := func(name string) string {
			v := rec[index[name]]
			if freeText[name] {
				v = strings.TrimPrefix(v, "'")
			}
			return v
		}
		number := func(name string) int {
			n, err := strconv.Atoi(col(name))
			if err != nil {
				p.add(at+name, "must be a whole number, got %q", col(name))
			}
			return n
		}

		carrier, account, day := col(colCarrier), col(colAccount), col(colManifestDate)
		if row == 2 {
			date, err := time.Parse(time.DateOnly, day)
			if err != nil {
				p.add(at+colManifestDate, "must be a date as YYYY-MM-DD, got %q", day)
			}
			m.Carrier, m.Account, m.Date, firstDay = carrier, account, date, day
			checkManifestText(&p, at+colCarrier, carrier, true, false)
			checkManifestText(&p, at+colAccount, account, false, false)
		} else {
			same := func(name, got, want string) {
				if got != want {
					p.add(at+name, "is %q, row 2 has %q: a manifest is one carrier, account and day", got, want)
				}
			}
			same(colCarrier, carrier, m.Carrier)
			same(colAccount, account, m.Account)
			same(colManifestDate, day, firstDay)
		}

		l := ManifestLine{
			TrackingNumber: col(colTrackingNumber), Reference: col(colReference), Service: col(colService),
			RecipientName: col(colRecipientName), Line1: col(colLine1), Line2: col(colLine2), City: col(colCity),
			Region: col(colRegion), PostalCode: col(colPostalCode), Country: col(colCountry), Phone: col(colPhone),
			WeightGrams: number(colWeightGrams), Pieces: number(colPieces), Contents: col(colContents),
			DeclaredValue: logistics.Money{Amount: decimal.Zero, Currency: col(colCurrency)},
		}
		if v := col(colDeclaredValue); !amountPattern.MatchString(v) {
			p.add(at+colDeclaredValue, "must be a decimal amount such as 12.50, got %q", v)
		} else {
			l.DeclaredValue.Amount = decimal.RequireFromString(v)
		}
		checkLine(&p, at, l)
		if first, ok := seen[l.TrackingNumber]; ok && l.TrackingNumber != "" {
			p.add(at+colTrackingNumber, "duplicates row %d: %s", first, l.TrackingNumber)
		} else {
			seen[l.TrackingNumber] = row
		}
		m.Lines = append(m.Lines, l)
	}
	if len(m.Lines) == 0 && len(p.list) == 0 {
		p.add("row 2", "is missing: a manifest lists at least one parcel")
	}
	if err := invalid("the manifest is invalid", p.list); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// checkLine adds the problems of one line, its fields named at+column.
// Numbers that failed to parse were reported by the caller and read as 0,
// so they are not reported twice.
func checkLine(p *problemList, at string, l ManifestLine) {
	if problem := trackingProblem(l.TrackingNumber); problem != "" {
		p.add(at+colTrackingNumber, "%s", problem)
	}
	checkManifestText(p, at+colReference, l.Reference, true, false)
	checkManifestText(p, at+colService, l.Service, true, false)
	checkManifestText(p, at+colRecipientName, l.RecipientName, true, false)
	checkManifestText(p, at+colLine1, l.Line1, true, false)
	checkManifestText(p, at+colLine2, l.Line2, false, false)
	checkManifestText(p, at+colCity, l.City, true, false)
	checkManifestText(p, at+colRegion, l.Region, false, false)
	checkManifestText(p, at+colPostalCode, l.PostalCode, false, false)
	checkManifestText(p, at+colContents, l.Contents, false, true)
	if !countryPattern.MatchString(l.Country) {
		p.add(at+colCountry, "must be an ISO 3166-1 alpha-2 code such as PH, got %q", l.Country)
	}
	if l.Phone != "" && !phonePattern.MatchString(l.Phone) {
		p.add(at+colPhone, "must be empty or in E.164 form such as +639171234567, got %q", l.Phone)
	}
	if l.WeightGrams < 0 || l.WeightGrams == 0 && !p.has(at+colWeightGrams) {
		p.add(at+colWeightGrams, "must be a positive number of grams, got %d", l.WeightGrams)
	}
	if l.Pieces < 0 || l.Pieces == 0 && !p.has(at+colPieces) {
		p.add(at+colPieces, "must be at least 1, got %d", l.Pieces)
	}
	if l.DeclaredValue.Amount.IsNegative() {
		p.add(at+colDeclaredValue, "must not be negative")
	}
	if !currencyPattern.MatchString(l.DeclaredValue.Currency) {
		p.add(at+colCurrency, "must be an ISO 4217 code such as PHP, got %q", l.DeclaredValue.Currency)
	}
}

// checkManifestText adds a problem unless s is valid UTF-8 without control
// characters (line breaks allowed when multiline) and, when required, not
// blank. A carriage return is refused everywhere: CSV readers turn "\r\n"
// inside a field into "\n", so it would not survive the file.
func checkManifestText(p *problemList, field, s string, required, multiline bool) {
	bad := strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && !(multiline && r == '\n') })
	switch {
	case !utf8.ValidString(s) || bad >= 0:
		if multiline {
			p.add(field, "must be valid UTF-8 without control characters other than line breaks (\\n)")
		} else {
			p.add(field, "must be valid UTF-8 without control characters")
		}
	case required && strings.TrimSpace(s) == "":
		p.add(field, "is required")
	}
}

// csvError reports a CSV syntax error with the line it is on (a syntax
// error is about the file's lines, not its rows).
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return invalid("the manifest is invalid", []logistics.FieldProblem{{Field: fmt.Sprintf("line %d", pe.StartLine),
			Problem: "is not valid CSV: " + pe.Err.Error()}})
	}
	return fmt.Errorf("reading the manifest: %w", err)
}

// problemList collects field problems, at most maxProblems of them.
type problemList struct {
	list      []logistics.FieldProblem
	truncated bool
}

func (p *problemList) add(field, format string, args ...any) {
	switch {
	case len(p.list) < maxProblems:
		p.list = append(p.list, logistics.FieldProblem{Field: field, Problem: fmt.Sprintf(format, args...)})
	case !p.truncated:
		p.truncated = true
		p.list = append(p.list, logistics.FieldProblem{Field: "manifest", Problem: fmt.Sprintf("more problems after the first %d are not listed", maxProblems)})
	}
}

// has reports whether a problem was recorded for field.
func (p *problemList) has(field string) bool {
	return slices.ContainsFunc(p.list, func(f logistics.FieldProblem) bool { return f.Field == field })
}
