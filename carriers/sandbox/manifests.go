package sandbox

import (
	"bytes"
	"errors"
	"hash/fnv"
	"io"
	"net/http"
	"strconv"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/carriers/paper"
	"github.com/crossdock/crossdock/logistics"
)

// maxManifest bounds a manifest upload (a day of a small courier's parcels).
const maxManifest = 8 << 20

// batchOnly reports whether every channel of carrier books by end-of-day
// manifest: such a carrier has no booking API at all.
func batchOnly(carrier string) bool {
	chs := Channels(carrier)
	for _, ch := range chs {
		if ch.Capabilities.Label != logistics.LabelBatchManifest {
			return false
		}
	}
	return len(chs) > 0
}

// manifestResponse is the carrier's receipt for a manifest file.
type manifestResponse struct {
	Manifest string   `json:"manifest"`
	Accepted []string `json:"accepted"`
	Known    []string `json:"known"`
}

// manifest handles PUT /carriers/{carrier}/manifests/{name}: the shipper's
// end-of-day file (carriers/paper's CSV). Each line is a parcel handed over
// under the number the shipper printed on it; the carrier collects it and
// its journey starts with the "manifest received" scan. A number seen
// before, in this file or another, is known and not taken twice, so
// re-sending a file or a supplement is safe.
func (s *Server) manifest(w http.ResponseWriter, r *http.Request, carrier string) {
	if !batchOnly(carrier) {
		writeError(w, http.StatusNotFound, codeUnsupported, carrier+" books by API, not by manifest", nil)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxManifest))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "payload_too_large", "the manifest is larger than the carrier accepts", nil)
			return
		}
		writeError(w, http.StatusBadRequest, "invalid_request", "read manifest: "+err.Error(), nil)
		return
	}
	m, err := paper.ReadManifest(bytes.NewReader(body))
	if err != nil {
		var le *logistics.Error
		if errors.As(err, &le) {
			writeError(w, http.StatusUnprocessableEntity, "invalid_request", le.Message, le.Details)
			return
		}
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", err.Error(), nil)
		return
	}
	if m.Carrier != carrier {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "the manifest is for "+m.Carrier+", not "+carrier, nil)
		return
	}
	resp := manifestResponse{Manifest: r.PathValue("name"), Accepted: []string{}, Known: []string{}}
	for _, line := range m.Lines {
		req := carriers.BookRequest{
			IdempotencyKey: "manifest|" + line.TrackingNumber, OrderID: line.Reference, Service: line.Service,
			ShipTo: logistics.Address{Name: line.RecipientName, Line1: line.Line1, Line2: line.Line2, City: line.City,
				Region: line.Region, PostalCode: line.PostalCode, Country: line.Country, Phone: line.Phone},
			Parcel: logistics.Parcel{WeightGrams: line.WeightGrams},
		}
		status, answer := s.registerAs(r, carrier, req, line.TrackingNumber)
		switch status {
		case http.StatusCreated:
			resp.Accepted = append(resp.Accepted, line.TrackingNumber)
		case http.StatusOK:
			resp.Known = append(resp.Known, line.TrackingNumber)
		default:
			// A line the courier will not carry (a lane it does not
			// serve): the whole file is refused so the shipper can fix it.
			writeJSON(w, status, answer)
			return
		}
	}
	s.log.Info("sandbox manifest received", "carrier", carrier, "manifest", resp.Manifest,
		"accepted", len(resp.Accepted), "known", len(resp.Known))
	writeJSON(w, http.StatusOK, resp)
}

// manifestNumber is the tracking number a batch-only carrier's shipper
// allocates for a parcel from the carrier's range: "SL" and nine digits,
// derived from the booking's idempotency key so that a retried booking
// prints the same number.
func manifestNumber(idempotencyKey string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(idempotencyKey))
	n := h.Sum64() % 1_000_000_000
	s := strconv.FormatUint(n, 10)
	for len(s) < 9 {
		s = "0" + s
	}
	return "SL" + s
}
