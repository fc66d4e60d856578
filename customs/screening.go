package customs

import (
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/crossdock/crossdock/logistics"
)

// Words of a denied-party screen. A name match blocks the order for
// compliance review ("denied_party_match: <listed name> (<source> <id>)");
// an address match alone only warns, because many parties share a building.
const (
	BlockDeniedParty       = "denied_party_match"
	WarnDeniedPartyAddress = "denied_party_address_match"
)

// DeniedPartyList is a restricted-party list to screen consignees against,
// read from the US Consolidated Screening List (CSL) CSV layout. It is
// immutable after loading and safe for concurrent use.
//
// A consignee name matches a listed name (or alternative name) when every
// meaningful token of the listed name appears in it, whatever the case,
// punctuation, accents or word order. Meaningful tokens leave out corporate
// suffixes and stop words ("ltd", "gmbh", "the", "of"...) and single
// letters, unless the listed name has nothing else. A listed name with fewer
// than two meaningful tokens must equal the consignee's name instead
// (after the same normalisation), so "Zorgblatt Ltd" matches "ZORGBLATT
// LIMITED" but not "Zorgblatt Trading".
type DeniedPartyList struct {
	parties []listedParty
	names   patternIndex
	addrs   patternIndex
}

// PartyMatch is one listed party a screen found.
type PartyMatch struct {
	ListedName string
	// Source is the list the party is on: the short code a CSL source names
	// in parentheses ("SDN" for "Specially Designated Nationals (SDN) -
	// Treasury Department"), else the source column as written.
	Source string
	// ID is the row's _id, or its entity_number when _id is empty.
	ID       string
	Programs []string
}

// reason renders the match as "<listed name> (<source> <id>)".
func (m PartyMatch) reason() string {
	ref := strings.TrimSpace(m.Source + " " + m.ID)
	if ref == "" {
		return m.ListedName
	}
	return m.ListedName + " (" + ref + ")"
}

type listedParty struct {
	name, source, id string
	programs         []string
}

// pattern is one normalised form under which a party may appear.
type pattern struct {
	party  int
	tokens []string // distinct and sorted
	// exact: fewer than two meaningful tokens, so the candidate's tokens must
	// be exactly these rather than include them.
	exact bool
	// all: made only of stop words, so the candidate's stop words count.
	all bool
}

// patternIndex finds the patterns a candidate may match without trying
// them all: each pattern is filed under its longest token (which any match
// must contain) and under its tokens run together (for "AcmeProliferation").
type patternIndex struct {
	patterns []pattern
	byToken  map[string][]int
	byJoined map[string][]int
}

func (x *patternIndex) add(p pattern, joined string) {
	if x.byToken == nil {
		x.byToken, x.byJoined = map[string][]int{}, map[string][]int{}
	}
	key := p.tokens[0]
	for _, t := range p.tokens {
		if len(t) > len(key) {
			key = t
		}
	}
	i := len(x.patterns)
	x.patterns = append(x.patterns, p)
	x.byToken[key] = append(x.byToken[key], i)
	if joined != "" {
		x.byJoined[joined] = append(x.byJoined[joined], i)
	}
}

// stopWords are left out of name comparisons: legal forms and the small
// words names are written with or without.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`the and of ltd limited llc llp inc incorporated co company corp corporation
		gmbh ag kg sa sas sarl srl spa bv nv plc pte pty pvt oy ab as jsc ojsc pjsc ooo oao zao`) {
		m[w] = true
	}
	return m
}()

// aliasWords introduce another name inside parentheses: "X (a.k.a. Y)".
var aliasWords = [][]string{{"aka"}, {"fka"}, {"nka"}, {"dba"}, {"formerly"}, {"also", "known", "as"}, {"formerly", "known", "as"}}

var (
	parenthetical = regexp.MustCompile(`\(([^()]*)\)`)
	sourceCode    = regexp.MustCompile(`\(([A-Z][A-Z0-9-]{1,11})\)`)
	// letters that do not decompose into a base letter and a mark.
	letters = strings.NewReplacer("ß", "ss", "æ", "ae", "œ", "oe", "ø", "o", "đ", "d", "ð", "d", "ł", "l", "ı", "i", "þ", "th")
)

// tokens normalises s into lower-case words without accents or punctuation.
// Runs of single letters are joined, so "A.B.C.", "A B C" and "ABC" agree.
func tokens(s string) []string {
	// Decompose (compatibility forms too: ligatures, full-width letters),
	// drop the combining marks, recompose. A chain keeps state, so each call
	// builds its own.
	folded, _, err := transform.String(transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), norm.NFC), s)
	if err != nil {
		folded = s
	}
	words := strings.FieldsFunc(letters.Replace(strings.ToLower(folded)), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	var out []string
	for i := 0; i < len(words); i++ {
		j := i
		for j < len(words) && utf8.RuneCountInString(words[j]) == 1 {
			j++
		}
		if j-i >= 2 {
			out = append(out, strings.Join(words[i:j], ""))
			i = j - 1
			continue
		}
		out = append(out, words[i])
	}
	return out
}

// meaningful returns the tokens that identify a name, or all of them when
// none does ("made only of stop words"), and whether that was the case.
func meaningful(toks []string) ([]string, bool) {
	var m []string
	for _, t := range toks {
		if !stopWords[t] && utf8.RuneCountInString(t) >= 2 {
			m = append(m, t)
		}
	}
	if len(m) == 0 {
		return toks, true
	}
	return m, false
}

func distinctSorted(toks []string) []string {
	s := slices.Clone(toks)
	slices.Sort(s)
	return slices.Compact(s)
}

// addName files one way of writing a party's name.
func (l *DeniedPartyList) addName(party int, name string) {
	m, all := meaningful(tokens(name))
	if len(m) == 0 {
		return
	}
	p := pattern{party: party, tokens: distinctSorted(m), all: all}
	p.exact = len(p.tokens) < 2
	l.names.add(p, strings.Join(m, ""))
}

// addNameVariants files a listed name, and for "X (a.k.a. Y)" also X and Y.
func (l *DeniedPartyList) addNameVariants(party int, name string) {
	l.addName(party, name)
	for _, sub := range parenthetical.FindAllStringSubmatchIndex(name, -1) {
		inner := tokens(name[sub[2]:sub[3]])
		for _, a := range aliasWords {
			if len(inner) > len(a) && slices.Equal(inner[:len(a)], a) {
				l.addName(party, strings.Join(inner[len(a):], " "))
				l.addName(party, name[:sub[0]]+" "+name[sub[1]:])
				break
			}
		}
	}
}

// addAddress files a listed address if it is specific enough to mean one
// place: at least three words, one of them with a digit (a street number or
// postcode). A trailing segment without digits, usually the country written
// one way or another, is not required.
func (l *DeniedPartyList) addAddress(party int, addr string) {
	segments := strings.Split(addr, ",")
	if last := segments[len(segments)-1]; len(segments) > 1 && !strings.ContainsFunc(last, unicode.IsDigit) {
		segments = segments[:len(segments)-1]
	}
	toks := distinctSorted(tokens(strings.Join(segments, " ")))
	if len(toks) < 3 || !slices.ContainsFunc(toks, func(t string) bool { return strings.ContainsFunc(t, unicode.IsDigit) }) {
		return
	}
	l.addrs.add(pattern{party: party, tokens: toks}, "")
}

// candidate is a screened name or address, normalised once.
type candidate struct {
	all        map[string]bool
	allSorted  []string // distinct
	meanSorted []string // distinct meaningful
	joinedMean string
	joinedAll  string
}

func newCandidate(s string) candidate {
	toks := tokens(s)
	mean, _ := meaningful(toks)
	c := candidate{all: map[string]bool{}, allSorted: distinctSorted(toks), meanSorted: distinctSorted(mean),
		joinedMean: strings.Join(mean, ""), joinedAll: strings.Join(toks, "")}
	for _, t := range toks {
		c.all[t] = true
	}
	return c
}

func (p pattern) matches(c candidate) bool {
	if p.exact {
		if p.all {
			return slices.Equal(p.tokens, c.allSorted)
		}
		return slices.Equal(p.tokens, c.meanSorted)
	}
	for _, t := range p.tokens {
		if !c.all[t] {
			return false
		}
	}
	return true
}

// search returns the parties with a pattern matching c.
func (x *patternIndex) search(c candidate) map[int]bool {
	found := map[int]bool{}
	for t := range c.all {
		for _, i := range x.byToken[t] {
			if p := x.patterns[i]; p.matches(c) {
				found[p.party] = true
			}
		}
	}
	// The same letters spaced differently: "Acme-Proliferation" and
	// "AcmeProliferation", compared stop word for stop word.
	for _, i := range x.byJoined[c.joinedMean] {
		if p := x.patterns[i]; !p.all {
			found[p.party] = true
		}
	}
	for _, i := range x.byJoined[c.joinedAll] {
		if p := x.patterns[i]; p.all {
			found[p.party] = true
		}
	}
	return found
}

func (l *DeniedPartyList) matches(found map[int]bool) []PartyMatch {
	out := make([]PartyMatch, 0, len(found))
	for i := range found {
		p := l.parties[i]
		out = append(out, PartyMatch{ListedName: p.name, Source: p.source, ID: p.id, Programs: slices.Clone(p.programs)})
	}
	slices.SortFunc(out, func(a, b PartyMatch) int {
		return strings.Compare(a.ListedName+"\x00"+a.Source+"\x00"+a.ID, b.ListedName+"\x00"+b.Source+"\x00"+b.ID)
	})
	return out
}

// Screen returns the listed parties whose name or alternative name matches
// name, sorted by listed name, source and id; none for a nil list or an
// empty name.
func (l *DeniedPartyList) Screen(name string) []PartyMatch {
	if l == nil || strings.TrimSpace(name) == "" {
		return []PartyMatch{}
	}
	return l.matches(l.names.search(newCandidate(name)))
}

// ScreenAddress returns the listed parties with an address whose words all
// appear in a's lines, city, region, postcode and country, sorted like
// Screen. It is a secondary signal: the engine warns on it, never blocks.
func (l *DeniedPartyList) ScreenAddress(a logistics.Address) []PartyMatch {
	s := strings.Join([]string{a.Line1, a.Line2, a.City, a.Region, a.PostalCode, a.Country}, " ")
	if l == nil || strings.TrimSpace(s) == "" {
		return []PartyMatch{}
	}
	return l.matches(l.addrs.search(newCandidate(s)))
}

// Len is the number of listed parties.
func (l *DeniedPartyList) Len() int {
	if l == nil {
		return 0
	}
	return len(l.parties)
}

// screenParties returns the block reasons of consignee name matches and the
// warnings of address matches of other parties.
func screenParties(l *DeniedPartyList, consignee logistics.Address) (reasons, warnings []string) {
	if l == nil {
		return nil, nil
	}
	named := map[string]bool{}
	for _, m := range l.Screen(consignee.Name) {
		reasons = append(reasons, BlockDeniedParty+": "+m.reason())
		named[m.reason()] = true
	}
	for _, m := range l.ScreenAddress(consignee) {
		if !named[m.reason()] {
			warnings = append(warnings, WarnDeniedPartyAddress+": "+m.reason())
		}
	}
	return reasons, warnings
}

// LoadDeniedPartiesCSV reads a list in the US Consolidated Screening List
// CSV layout (data.trade.gov): a header row, then one party per row. Columns
// are found by name, in any order: name is required; alt_names and
// addresses (each separated by ";"), source, programs (";"), and _id or
// entity_number are used when present; any other column is ignored. The
// error names the line of the first problems found: a missing name column, a
// row without a name, malformed CSV, or a list without entries.
func LoadDeniedPartiesCSV(r io.Reader) (*DeniedPartyList, error) {
	const what = "denied-party list"
	cr, col, err := openCSV(r, what, []string{"name"})
	if err != nil {
		return nil, err
	}
	l := &DeniedPartyList{}
	var errs rowErrors
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		line, _ := cr.FieldPos(0)
		get := field(rec, col)
		name := strings.Join(strings.Fields(get("name")), " ")
		if name == "" {
			errs.add(what, line, "name is empty")
			continue
		}
		id := get("_id")
		if id == "" {
			id = get("entity_number")
		}
		source := get("source")
		if m := sourceCode.FindStringSubmatch(source); m != nil {
			source = m[1]
		}
		party := len(l.parties)
		l.parties = append(l.parties, listedParty{name: name, source: source, id: id, programs: splitList(get("programs"))})
		l.addNameVariants(party, name)
		for _, alt := range splitList(get("alt_names")) {
			l.addNameVariants(party, alt)
		}
		for _, addr := range splitList(get("addresses")) {
			l.addAddress(party, addr)
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	if len(l.parties) == 0 {
		return nil, fmt.Errorf("%s: no entries after the header; an empty list would screen nothing", what)
	}
	return l, nil
}

// splitList splits a CSL multi-valued cell on ";", dropping empty parts.
func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ";") {
		if part = strings.Join(strings.Fields(part), " "); part != "" {
			out = append(out, part)
		}
	}
	return out
}

//go:embed data/denied_parties_sample.csv
var sampleDeniedParties string

var defaultDeniedParties = sync.OnceValue(func() *DeniedPartyList {
	l, err := LoadDeniedPartiesCSV(strings.NewReader(sampleDeniedParties))
	if err != nil {
		panic("customs: embedded sample denied-party list: " + err.Error())
	}
	return l
})

// DefaultDeniedParties returns the small FICTIONAL list shipped in
// data/denied_parties_sample.csv (CSL layout), for development, demos and
// tests. It names no real party; production loads the operator's CSL file
// with LoadDeniedPartiesCSV. DefaultRules does not include it: the
// composition root decides which list screens orders. The list is shared and
// immutable.
func DefaultDeniedParties() *DeniedPartyList { return defaultDeniedParties() }

// openCSV reads the header row of an operator CSV file and returns the reader
// positioned on the first data row with the columns by lower-case name.
func openCSV(r io.Reader, what string, required []string) (*csv.Reader, map[string]int, error) {
	cr := csv.NewReader(r)
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("%s: the file is empty; a header row is required", what)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: reading the header: %w", what, err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := col[h]; !dup && h != "" {
			col[h] = i
		}
	}
	var missing []string
	for _, name := range required {
		if _, ok := col[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("%s: the header has no %s column (required: %s; found: %s)", what,
			strings.Join(missing, ", "), strings.Join(required, ", "), strings.Join(header, ","))
	}
	return cr, col, nil
}

// field returns a getter of a record's trimmed cells by column name; a
// column the file lacks, or a short row, reads as "".
func field(rec []string, col map[string]int) func(string) string {
	return func(name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
}

// rowErrors collects row problems, keeping the first few so that a wrong
// file gives a readable error rather than thousands of lines.
type rowErrors struct {
	errs []error
	more int
}

const maxRowErrors = 10

func (e *rowErrors) add(what string, line int, format string, args ...any) {
	if len(e.errs) == maxRowErrors {
		e.more++
		return
	}
	e.errs = append(e.errs, fmt.Errorf("%s line %d: %s", what, line, fmt.Sprintf(format, args...)))
}

func (e *rowErrors) err() error {
	if len(e.errs) == 0 {
		return nil
	}
	errs := e.errs
	if e.more > 0 {
		errs = append(slices.Clone(errs), fmt.Errorf("and %d more problems", e.more))
	}
	return errors.Join(errs...)
}
