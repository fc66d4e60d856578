package paper

import (
	"bytes"
	"image"
	_ "image/png" // pdfcpu hands Flate images back as PNG
	"io"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	// pdfcpu would otherwise create a configuration folder in $HOME.
	api.DisableConfigDir()
	os.Exit(m.Run())
}

// pdfConf is pdfcpu's configuration for the checks: strict validation, so a
// PDF that only lenient readers accept fails.
func pdfConf() *model.Configuration {
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationStrict
	return conf
}

// parsedPDF is what the tests read back from a rendered PDF.
type parsedPDF struct {
	pages   int
	dimsPt  [][2]float64 // width, height of each page in points
	content string       // every page's decompressed content stream, in order
	images  []model.Image
}

// parsePDF validates b with pdfcpu and reads its pages, content and images.
func parsePDF(t *testing.T, b []byte) parsedPDF {
	t.Helper()
	require.True(t, bytes.HasPrefix(b, []byte("%PDF-")), "output is not a PDF")
	require.NoError(t, api.Validate(bytes.NewReader(b), pdfConf()), "pdfcpu must validate the PDF")

	var out parsedPDF
	dims, err := api.PageDims(bytes.NewReader(b), pdfConf())
	require.NoError(t, err)
	out.pages = len(dims)
	for _, d := range dims {
		out.dimsPt = append(out.dimsPt, [2]float64{d.Width, d.Height})
	}

	var content bytes.Buffer
	require.NoError(t, api.ExtractContent(bytes.NewReader(b), nil, func(r io.Reader, _ int) error {
		_, err := io.Copy(&content, r)
		return err
	}, pdfConf()))
	out.content = content.String()

	pages, err := api.ExtractImagesRaw(bytes.NewReader(b), nil, pdfConf())
	require.NoError(t, err)
	for _, imgs := range pages {
		for _, img := range imgs {
			out.images = append(out.images, img)
		}
	}
	return out
}

// decodeCode128 decodes the Code 128 symbol in an image extracted from a PDF.
func decodeCode128(t *testing.T, img model.Image) string {
	t.Helper()
	decoded, format, err := image.Decode(img)
	require.NoError(t, err, "decoding the extracted %s image", img.FileType)
	require.Equal(t, "png", format)
	bmp, err := gozxing.NewBinaryBitmapFromImage(decoded)
	require.NoError(t, err)
	res, err := oned.NewCode128Reader().Decode(bmp, nil)
	require.NoError(t, err, "the barcode image must scan as Code 128")
	return res.GetText()
}

// placement is where a content stream draws an image: fpdf writes
// "q W 0 0 H X Y cm /Name Do Q" with sizes in points.
type placement struct{ widthPt, heightPt float64 }

var placementPattern = regexp.MustCompile(`q ([0-9.]+) 0 0 ([0-9.]+) [0-9.-]+ [0-9.-]+ cm /\S+ Do Q`)

// imagePlacements lists every image drawn by content, in order.
func imagePlacements(t *testing.T, content string) []placement {
	t.Helper()
	var out []placement
	for _, m := range placementPattern.FindAllStringSubmatch(content, -1) {
		w, err := strconv.ParseFloat(m[1], 64)
		require.NoError(t, err)
		h, err := strconv.ParseFloat(m[2], 64)
		require.NoError(t, err)
		out = append(out, placement{w, h})
	}
	return out
}

// mmToPt converts millimetres to PDF points.
func mmToPt(mm float64) float64 { return mm / 25.4 * 72 }
