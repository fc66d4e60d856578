package paper

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/mozillazg/go-unidecode"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
	"golang.org/x/text/unicode/norm"

	"github.com/crossdock/crossdock/logistics"
)

// pdfText converts UTF-8 text to the Windows-1252 bytes the PDF core fonts
// print. Characters Windows-1252 has are kept; others are first tried without
// their accents (NFD), then transliterated to ASCII, and "?" stands for what
// has no transliteration. Control characters become spaces, runs of spaces
// collapse, and invalid UTF-8 is replaced, so the result is always printable.
func pdfText(s string) string {
	var b strings.Builder
	for _, r := range norm.NFC.String(strings.ToValidUTF8(s, "?")) {
		if unicode.IsControl(r) {
			b.WriteByte(' ')
			continue
		}
		if c, ok := charmap.Windows1252.EncodeRune(r); ok {
			b.WriteByte(c)
			continue
		}
		b.WriteString(transliterate(r))
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// transliterate spells a rune that Windows-1252 lacks in ASCII (or in
// Windows-1252 once its accents are gone), or "?".
func transliterate(r rune) string {
	var base strings.Builder
	for _, d := range norm.NFD.String(string(r)) {
		if unicode.Is(unicode.Mn, d) {
			continue
		}
		c, ok := charmap.Windows1252.EncodeRune(d)
		if !ok {
			base.Reset()
			break
		}
		base.WriteByte(c)
	}
	if base.Len() > 0 {
		return base.String()
	}
	// Transliterations of ideographs end in a space ("Bei "), so that
	// "北京" reads "Bei Jing"; pdfText collapses what is left over.
	if t := unidecode.Unidecode(string(r)); strings.TrimSpace(t) != "" {
		return t
	}
	return "?"
}

// countryName is the English name of an ISO 3166-1 alpha-2 code in
// capitals, as UPU rules want the destination country written, or the
// code itself when it names no country.
func countryName(code string) string {
	r, err := language.ParseRegion(code)
	if err != nil || !r.IsCountry() {
		return code
	}
	name := display.English.Regions().Name(r)
	if name == "" {
		return code
	}
	return strings.ToUpper(name)
}

// grams prints a weight in kilograms with three decimals ("1.250 kg").
func grams(g int) string {
	return fmt.Sprintf("%d.%03d kg", g/1000, g%1000)
}

// amount prints a money amount with at least its currency's minor-unit
// digits and never fewer digits than it has ("12.50", "0.125", "1500").
func amount(m logistics.Money) string {
	places := logistics.MinorUnits(m.Currency)
	if exp := -m.Amount.Exponent(); exp > places {
		places = exp
	}
	return m.Amount.StringFixed(places)
}
