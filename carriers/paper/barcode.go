package paper

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"regexp"

	"github.com/boombuler/barcode/code128"
)

// trackingPattern is what Crossdock accepts as a tracking number (the API
// uses the same rule): letters, digits and _ . -, starting with a letter or
// digit. Every such character is in Code 128 code set B.
var trackingPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// trackingProblem says what is wrong with a tracking number, or "".
func trackingProblem(s string) string {
	switch {
	case s == "":
		return "is required"
	case !trackingPattern.MatchString(s):
		return "must be 1-64 letters, digits or _.- starting with a letter or digit (printable in a Code 128 barcode)"
	}
	return ""
}

const (
	// quietZone is the blank margin on each side of a Code 128 symbol,
	// in modules (ISO/IEC 15417 asks for at least 10).
	quietZone = 10
	// dotMM is one dot of a 203 dpi thermal printer, the common label
	// printer. Modules a whole number of dots wide print without one bar
	// growing at its neighbour's expense.
	dotMM = 25.4 / 203
	// minDots and maxDots bound the module width: 2 dots (0.25 mm, 10 mil)
	// is the narrowest that carriers' scanners read reliably, 4 dots
	// (0.5 mm) is wide enough for any scanner at arm's length.
	minDots, maxDots = 2, 4
	// barImageHeight is the height of the barcode image in pixels. The
	// PDF stretches it to the printed bar height; every row is the same.
	barImageHeight = 32
)

// symbol is a Code 128 barcode ready to place: a PNG whose pixels are
// modules (quiet zones included) and the printed width of one module.
type symbol struct {
	png      []byte
	modules  int     // width of the PNG, quiet zones included
	moduleMM float64 // printed module width
}

// widthMM is the printed width of the whole symbol, quiet zones included.
func (s symbol) widthMM() float64 { return float64(s.modules) * s.moduleMM }

// code128Symbol encodes text as Code 128 (with its check symbol) and picks
// the widest module, in whole printer dots, that fits within maxWidthMM.
// It fails when the text is not encodable or too long to print scannably.
func code128Symbol(text string, maxWidthMM float64) (symbol, error) {
	bc, err := code128.Encode(text)
	if err != nil {
		return symbol{}, fmt.Errorf("cannot be encoded as Code 128: %w", err)
	}
	bars := bc.Bounds().Dx()
	modules := bars + 2*quietZone
	dots := min(maxDots, int(maxWidthMM/(float64(modules)*dotMM)))
	if dots < minDots {
		return symbol{}, fmt.Errorf("is too long for a scannable barcode: %d modules need %.1f mm at 0.25 mm each, %.1f mm is available",
			modules, float64(modules)*minDots*dotMM, maxWidthMM)
	}

	img := image.NewGray(image.Rect(0, 0, modules, barImageHeight))
	for x := range modules {
		c := color.Gray{Y: 0xff}
		if bx := x - quietZone; bx >= 0 && bx < bars {
			if r, _, _, _ := bc.At(bx, 0).RGBA(); r < 0x8000 {
				c = color.Gray{Y: 0}
			}
		}
		for y := range barImageHeight {
			img.SetGray(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return symbol{}, fmt.Errorf("encoding the barcode image: %w", err)
	}
	return symbol{png: buf.Bytes(), modules: modules, moduleMM: float64(dots) * dotMM}, nil
}
