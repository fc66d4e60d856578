package customs

import (
	"slices"

	"github.com/crossdock/crossdock/logistics"
)

// AttachedTaxIDs returns the seller's tax ids that travel with a shipment
// (domain.md "Documents"): the IOSS number under eu_ioss, the UK VAT number
// under uk_low_value (the seller collected the VAT at checkout), and the
// EORI where the carrier's channel requires it. Others stay with the seller.
func AttachedTaxIDs(d logistics.CustomsDecision, ids logistics.TaxIDs, channelRequires []string) logistics.TaxIDs {
	var out logistics.TaxIDs
	if d.Regime == "eu_ioss" {
		out.IOSS = ids.IOSS
	}
	if d.Regime == "uk_low_value" {
		out.UKVAT = ids.UKVAT
	}
	if slices.Contains(channelRequires, "eori") {
		out.EORI = ids.EORI
	}
	return out
}
