package customs

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
)

// cslHeader is the column layout of the US Consolidated Screening List CSV.
const cslHeader = "_id,source,entity_number,type,programs,name,title,addresses,federal_register_notice,start_date," +
	"end_date,standard_order,license_requirement,license_policy,call_sign,vessel_type,gross_tonnage," +
	"gross_registered_tonnage,vessel_flag,vessel_owner,remarks,source_list_url,alt_names,citizenships," +
	"dates_of_birth,nationalities,places_of_birth,source_information_url,ids"

func names(ms []PartyMatch) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.ListedName)
	}
	return out
}

func TestScreenMatchesRobustly(t *testing.T) {
	l := DefaultDeniedParties()
	const (
		acme      = "Acme Proliferation Trading Co"
		societe   = "Société Imaginaire d'Équipements Sensibles SARL"
		northwind = "Northwind Dual-Use Components Ltd"
		doe       = "DOE, Johnathan Fictitious"
		zorg      = "Zorgblatt Ltd"
		oceanic   = "Oceanic Fictional Freight (a.k.a. OFF Logistics)"
		fjord     = "Fjørd Fiktiv Handel AS"
	)
	tests := []struct {
		name      string
		consignee string
		want      []string
	}{
		{"as listed", "Acme Proliferation Trading Co", []string{acme}},
		{"upper case", "ACME PROLIFERATION TRADING CO", []string{acme}},
		{"punctuation", "Acme-Proliferation Trading, Co.", []string{acme}},
		{"words run together", "AcmeProliferation Trading", []string{acme}},
		{"word order", "Trading Acme Proliferation", []string{acme}},
		{"suffix dropped", "Acme Proliferation Trading", []string{acme}},
		{"other suffix", "Acme Proliferation Trading Limited", []string{acme}},
		{"listed name inside a longer one", "Attn: Acme Proliferation Trading Co (Shenzhen branch)", []string{acme}},
		{"accents removed by the sender", "Societe Imaginaire d Equipements Sensibles", []string{societe}},
		{"accents kept, case changed", "SOCIÉTÉ IMAGINAIRE D'ÉQUIPEMENTS SENSIBLES", []string{societe}},
		{"combining accents", "Socie\u0301te\u0301 Imaginaire d'E\u0301quipements Sensibles", []string{societe}},
		{"accent alias", "S.I.E.S.", []string{societe}},
		{"alt name", "Northwind DUC", []string{northwind}},
		{"alt name with spaced initials", "N D U C", []string{northwind}},
		{"alt name in another language", "NORDWIND DOPPELNUTZEN KOMPONENTEN", []string{northwind}},
		{"primary name with a hyphen dropped", "Northwind Dual Use Components", []string{northwind}},
		{"individual, given name first", "Johnathan Fictitious Doe", []string{doe}},
		{"individual alt name", "Jon Fictitious", []string{doe}},
		{"one meaningful word, exact", "ZORGBLATT LIMITED", []string{zorg}},
		{"one meaningful word, spaced", "Zorg-Blatt", []string{zorg}},
		{"alias inside the name", "OFF Logistics Ltd", []string{oceanic}},
		{"name without its alias", "Oceanic Fictional Freight", []string{oceanic}},
		{"letters that do not decompose", "FJORD FIKTIV HANDEL", []string{fjord}},
		{"full-width letters", "ＡＣＭＥ Proliferation Trading", []string{acme}},

		{"near miss: one word different", "Acme Proliferation Trade Co", []string{}},
		{"near miss: one word missing", "Acme Trading Co", []string{}},
		{"near miss: misspelt", "Acme Prolifferation Trading Co", []string{}},
		{"near miss: one meaningful word plus another", "Zorgblatt Trading", []string{}},
		{"near miss: only the suffix", "Ltd", []string{}},
		{"near miss: alt name with a word missing", "Northwind Limited", []string{}},
		{"near miss: individual with another given name", "Jonathan Fictitious Doe", []string{}},
		{"near miss: surname only", "Doe", []string{}},
		{"near miss: alias word alone", "Logistics", []string{}},
		{"near miss: a parenthetical that is no alias", "a.k.a.", []string{}},
		{"empty", "", []string{}},
		{"unrelated", "Jane Smith", []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, names(l.Screen(tc.consignee)))
		})
	}
}

func TestScreenStopWordOnlyNames(t *testing.T) {
	l, err := LoadDeniedPartiesCSV(strings.NewReader("name,source,_id\nThe Co. Ltd,Test (T),1\nX,Test (T),2\n"))
	require.NoError(t, err)
	assert.Equal(t, []string{"The Co. Ltd"}, names(l.Screen("THE CO LTD")))
	assert.Equal(t, []string{"The Co. Ltd"}, names(l.Screen("Ltd. The Co")))
	assert.Empty(t, l.Screen("The Ltd"))
	assert.Empty(t, l.Screen("Acme Co Ltd"))
	assert.Equal(t, []string{"X"}, names(l.Screen("x")))
	assert.Empty(t, l.Screen("X Y"))
}

func TestScreenIsSortedAndDeduplicated(t *testing.T) {
	csv := cslHeader + "\n" +
		"b,Entity List (EL) - Bureau of Industry and Security,,Entity,EAR,Beta Gamma Widgets,,,,,,,,,,,,,,,,,Gamma Beta Widgets; Beta-Gamma Widgets,,,,,,\n" +
		"a,Specially Designated Nationals (SDN) - Treasury Department,101,Entity,SDGT;IRAN,Alpha Beta Gamma Holdings,,,,,,,,,,,,,,,,,,,,,,,\n"
	l, err := LoadDeniedPartiesCSV(strings.NewReader(csv))
	require.NoError(t, err)
	got := l.Screen("Gamma Beta Alpha Widgets Holdings")
	assert.Equal(t, []PartyMatch{
		{ListedName: "Alpha Beta Gamma Holdings", Source: "SDN", ID: "a", Programs: []string{"SDGT", "IRAN"}},
		{ListedName: "Beta Gamma Widgets", Source: "EL", ID: "b", Programs: []string{"EAR"}},
	}, got, "one match per party even when several of its names match, sorted by name")
	for range 20 {
		assert.Equal(t, got, l.Screen("Gamma Beta Alpha Widgets Holdings"))
	}
}

func TestScreenAddress(t *testing.T) {
	l := DefaultDeniedParties()
	tests := []struct {
		name string
		addr logistics.Address
		want []string
	}{
		{"same address, other words and case", logistics.Address{Line1: "12, NOWHERE LANE", City: "fictionville", PostalCode: "00001", Country: "ZZ"},
			[]string{"Acme Proliferation Trading Co"}},
		{"country written differently", logistics.Address{Line1: "Unit 4", Line2: "88 Imaginary Park", City: "Nowhere City", PostalCode: "00042", Country: "XX"},
			[]string{"Northwind Dual-Use Components Ltd"}},
		{"accents and letters", logistics.Address{Line1: "7 Rue de l’Exemple", City: "VILLEFICTIVE", PostalCode: "99001", Country: "ZZ"},
			[]string{"Société Imaginaire d'Équipements Sensibles SARL"}},
		{"another house number", logistics.Address{Line1: "14 Nowhere Lane", City: "Fictionville", PostalCode: "00001", Country: "ZZ"}, []string{}},
		{"same street, no postcode", logistics.Address{Line1: "12 Nowhere Lane", City: "Fictionville", Country: "ZZ"}, []string{}},
		{"a country alone never matches", logistics.Address{Country: "ZZ"}, []string{}},
		{"empty", logistics.Address{}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, names(l.ScreenAddress(tc.addr)))
		})
	}
}

func TestDecideScreensTheConsignee(t *testing.T) {
	e := newEngine(t, func(r *Rules) { r.DeniedParties = DefaultDeniedParties() })
	in := func(consignee logistics.Address, items ...logistics.Item) Input {
		if len(items) == 0 {
			items = []logistics.Item{item("610910", "CN", "10.00", "EUR")}
		}
		return Input{Items: items, Destination: "DE", Date: day("2026-01-15"), Consignee: consignee}
	}
	tests := []struct {
		name     string
		in       Input
		reasons  []string
		warnings []string
	}{
		{"clean consignee", in(logistics.Address{Name: "Erika Mustermann", Line1: "Hauptstr. 1", City: "Berlin", Country: "DE"}),
			[]string{}, []string{}},
		{"name match blocks", in(logistics.Address{Name: "acme proliferation trading", Line1: "Hauptstr. 1", City: "Berlin", Country: "DE"}),
			[]string{"denied_party_match: Acme Proliferation Trading Co (SAMPLE sample-0001)"}, []string{}},
		{"name and address match block once", in(logistics.Address{Name: "ACME Proliferation Trading", Line1: "12 Nowhere Lane",
			City: "Fictionville", PostalCode: "00001", Country: "ZZ"}),
			[]string{"denied_party_match: Acme Proliferation Trading Co (SAMPLE sample-0001)"}, []string{}},
		{"address alone warns", in(logistics.Address{Name: "Erika Mustermann", Line1: "12 Nowhere Lane", City: "Fictionville",
			PostalCode: "00001", Country: "ZZ"}),
			[]string{}, []string{"denied_party_address_match: Acme Proliferation Trading Co (SAMPLE sample-0001)"}},
		{"item and party reasons together, items first", in(logistics.Address{Name: "Zorgblatt"}, item("610910", "CN", "10.00", "EUR"),
			func() logistics.Item {
				it := item("610910", "CN", "10.00", "EUR")
				it.SKU, it.Description = "G1", "gift"
				return it
			}()),
			[]string{"description_vague: items[1] sku G1", "denied_party_match: Zorgblatt Ltd (SAMPLE sample-0006)"}, []string{}},
		{"near miss passes", in(logistics.Address{Name: "Acme Trading Co"}), []string{}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := e.Decide(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.reasons, d.BlockReasons)
			assert.Equal(t, len(tc.reasons) > 0, d.Blocked)
			assert.Equal(t, tc.warnings, d.Warnings)
			assert.Equal(t, "eu_low_value", d.Regime, "a blocked decision still answers")
		})
	}

	t.Run("no list, no screening", func(t *testing.T) {
		d, err := newEngine(t, nil).Decide(in(logistics.Address{Name: "Acme Proliferation Trading Co"}))
		require.NoError(t, err)
		assert.False(t, d.Blocked)
		assert.Empty(t, d.BlockReasons)
	})
}

func TestLoadDeniedPartiesCSV(t *testing.T) {
	t.Run("the CSL layout with a byte order mark, quotes and a multi-line cell", func(t *testing.T) {
		csv := "\ufeff" + cslHeader + "\n" +
			`e5a9,Denied Persons List (DPL) - Bureau of Industry and Security,,,, MICKEY FICTION,,"123 S. TEST DRIVE, SCOTTSDALE, AZ, 85251",82 F.R. 48792,2017-10-18,2020-10-15,Y,,,,,,,,,"FR NOTICE` + "\n" + `ADDED",http://x,,,,,,http://y,` + "\n" +
			`,Nonproliferation Sanctions (ISN) - State Department,77,Entity,"NP; INKSNA","Widget "Best" Exports",,,,,,,,,,,,,,,,,,,,,,,` + "\n"
		l, err := LoadDeniedPartiesCSV(strings.NewReader(csv))
		require.NoError(t, err)
		assert.Equal(t, 2, l.Len())
		assert.Equal(t, []PartyMatch{{ListedName: "MICKEY FICTION", Source: "DPL", ID: "e5a9"}}, l.Screen("Fiction, Mickey"))
		assert.Equal(t, []PartyMatch{{ListedName: `Widget "Best" Exports`, Source: "ISN", ID: "77", Programs: []string{"NP", "INKSNA"}}},
			l.Screen("BEST WIDGET EXPORTS"), "entity_number stands in for a missing _id")
		assert.Equal(t, []string{"MICKEY FICTION"}, names(l.ScreenAddress(logistics.Address{Line1: "123 S Test Drive", City: "Scottsdale",
			Region: "AZ", PostalCode: "85251", Country: "US"})))
	})
	t.Run("columns in another order, optional ones missing, extra ones ignored", func(t *testing.T) {
		l, err := LoadDeniedPartiesCSV(strings.NewReader("Extra,NAME,Source\nx,Kappa Lambda Corp,My list\n"))
		require.NoError(t, err)
		assert.Equal(t, []PartyMatch{{ListedName: "Kappa Lambda Corp", Source: "My list"}}, l.Screen("Lambda Kappa"))
		assert.Equal(t, "denied_party_match: Kappa Lambda Corp (My list)", BlockDeniedParty+": "+l.Screen("Lambda Kappa")[0].reason())
	})
	t.Run("short rows read as empty cells", func(t *testing.T) {
		l, err := LoadDeniedPartiesCSV(strings.NewReader("_id,name,alt_names\n1,Mu Nu Trading\n"))
		require.NoError(t, err)
		assert.Len(t, l.Screen("Mu Nu Trading"), 1)
	})
	for _, tc := range []struct{ name, csv, want string }{
		{"no name column", "_id,source,entity_number,type,programs,title\n1,SDN,1,Entity,X,Mr\n", `no name column`},
		{"empty file", "", "a header row is required"},
		{"header only", cslHeader + "\n", "no entries"},
		{"a row without a name", "_id,name\n1,Alpha Omega\n2,\n3,  \n", "line 3: name is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadDeniedPartiesCSV(strings.NewReader(tc.csv))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("a read error is not an empty list", func(t *testing.T) {
		_, err := LoadDeniedPartiesCSV(io.MultiReader(strings.NewReader("_id,name\n1,Alpha Omega\n"), iotest.ErrReader(errors.New("disk gone"))))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "disk gone")
	})
	t.Run("every bad row is named", func(t *testing.T) {
		_, err := LoadDeniedPartiesCSV(strings.NewReader("_id,name\n1,\n2,Ok Name\n3,\n"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "line 2: name is empty")
		assert.Contains(t, err.Error(), "line 4: name is empty")
	})
	t.Run("many bad rows are summarised", func(t *testing.T) {
		_, err := LoadDeniedPartiesCSV(strings.NewReader("_id,name\n" + strings.Repeat("1,\n", 25)))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "and 15 more problems")
	})
}

func TestDefaultDeniedPartiesIsTheFictionalSample(t *testing.T) {
	l := DefaultDeniedParties()
	require.NotNil(t, l)
	assert.Equal(t, 8, l.Len())
	assert.Same(t, l, DefaultDeniedParties())
	for _, p := range l.parties {
		assert.Equal(t, "SAMPLE", p.source, "every sample row says it is fictional: %s", p.name)
	}
	assert.Nil(t, DefaultRules().DeniedParties, "the composition root chooses the list")
	var nilList *DeniedPartyList
	assert.Empty(t, nilList.Screen("Acme Proliferation Trading Co"))
	assert.Zero(t, nilList.Len())
}
