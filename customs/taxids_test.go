package customs

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/crossdock/crossdock/logistics"
)

func TestAttachedTaxIDs(t *testing.T) {
	ids := logistics.TaxIDs{IOSS: "IM2760000001", EORI: "DE123456789012345", UKVAT: "GB123456789"}
	for _, tc := range []struct {
		regime   string
		requires []string
		want     logistics.TaxIDs
	}{
		{"eu_ioss", nil, logistics.TaxIDs{IOSS: ids.IOSS}},
		{"eu_low_value", nil, logistics.TaxIDs{}},
		{"eu_standard", []string{"eori"}, logistics.TaxIDs{EORI: ids.EORI}},
		{"uk_low_value", nil, logistics.TaxIDs{UKVAT: ids.UKVAT}},
		{"uk_standard", nil, logistics.TaxIDs{}},
		{"us_informal", []string{"ioss"}, logistics.TaxIDs{}},
	} {
		got := AttachedTaxIDs(logistics.CustomsDecision{Regime: tc.regime}, ids, tc.requires)
		assert.Equal(t, tc.want, got, tc.regime)
	}
}
