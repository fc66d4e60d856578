package api

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/go-playground/locales"
	localesde "github.com/go-playground/locales/de"
	localesen "github.com/go-playground/locales/en"
	localeses "github.com/go-playground/locales/es"
	localesfr "github.com/go-playground/locales/fr"
	localeszh "github.com/go-playground/locales/zh"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/crossdock/crossdock/logistics"
)

// trackAssets are the tracking page's template, style sheet and message
// files, embedded so the binary needs nothing beside it.
//
//go:embed trackpage
var trackAssets embed.FS

// trackLanguages are the tracking page's languages; the first is the
// default when Accept-Language asks for none of them.
var trackLanguages = []struct {
	tag      language.Tag
	htmlLang string // <html lang> and Content-Language
	dates    func() locales.Translator
}{
	{language.English, "en", localesen.New},
	{language.German, "de", localesde.New},
	{language.French, "fr", localesfr.New},
	{language.Spanish, "es", localeses.New},
	{language.Chinese, "zh-Hans", localeszh.New},
}

// maxAcceptLanguage bounds the header we parse; a longer one is a client
// error and gets the default language.
const maxAcceptLanguage = 512

// trackLocale is one language of the tracking page: its messages, its date
// formats (CLDR, through go-playground/locales) and its country names (CLDR,
// through x/text/language/display). It is read-only once built.
type trackLocale struct {
	tag       language.Tag
	htmlLang  string
	text      map[string]string
	localizer *i18n.Localizer
	dates     locales.Translator
	regions   display.Namer
}

// HTMLLang is the page's language attribute.
func (l *trackLocale) HTMLLang() string { return l.htmlLang }

// T returns the message id in this language; an id that is not in the
// catalogue is an error, which fails the template rather than showing an
// empty string.
func (l *trackLocale) T(id string) (string, error) {
	s, ok := l.text[id]
	if !ok {
		return "", fmt.Errorf("tracking page: no message %q", id)
	}
	return s, nil
}

// format fills a message with fields ({{.Date}}).
func (l *trackLocale) format(id string, data map[string]string) string {
	s, err := l.localizer.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err == nil {
		return s
	}
	// Every message was checked at start, so this does not happen; should
	// it, the fields in key order still say what the page means.
	keys := slices.Sorted(maps.Keys(data))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if data[k] != "" {
			parts = append(parts, data[k])
		}
	}
	return strings.Join(parts, " ")
}

// status is the buyer's word for a tracking status; a word outside the
// contract (which the store never holds) is shown as it is.
func (l *trackLocale) status(s logistics.Status) string {
	if t, ok := l.text["status."+string(s)]; ok {
		return t
	}
	return string(s)
}

// phase is the buyer's word for a phase; "" for none.
func (l *trackLocale) phase(p logistics.Phase) string {
	if p == "" {
		return ""
	}
	if t, ok := l.text["phase."+string(p)]; ok {
		return t
	}
	return string(p)
}

// legKind is the buyer's word for a kind of leg; "" for none.
func (l *trackLocale) legKind(k logistics.LegKind) string {
	return l.text["leg."+string(k)]
}

// country is a country's name in this language, or the code when CLDR does
// not know it.
func (l *trackLocale) country(code string) string {
	if code == "" {
		return ""
	}
	r, err := language.ParseRegion(code)
	if err != nil {
		return code
	}
	if name := l.regions.Name(r); name != "" {
		return name
	}
	return code
}

// place is "city, country" in this language's order, either part optional.
func (l *trackLocale) place(loc logistics.Location) string {
	city, country := strings.TrimSpace(loc.City), l.country(strings.TrimSpace(loc.Country))
	switch {
	case city == "":
		return country
	case country == "":
		return city
	}
	return l.format("format.place", map[string]string{"City": city, "Country": country})
}

// date is a calendar date in this language's long form (UTC).
func (l *trackLocale) date(t time.Time) string { return l.dates.FmtDateLong(t.UTC()) }

// dateTime is a date and time of day in this language (UTC).
func (l *trackLocale) dateTime(t time.Time) string {
	t = t.UTC()
	return l.format("format.datetime", map[string]string{"Date": l.dates.FmtDateLong(t), "Time": l.dates.FmtTimeShort(t)})
}

// trackCatalog is every language of the tracking page and the matcher that
// picks one from Accept-Language.
type trackCatalog struct {
	locales []*trackLocale
	matcher language.Matcher
}

// loadTrackCatalog reads the message files (trackpage/messages/<lang>.toml
// in fsys) and checks them: the English file is the source, every other
// language must translate exactly its messages, and every status and phase
// word of the contract must be there. Any problem is an error naming the
// file and the messages.
func loadTrackCatalog(fsys fs.FS) (*trackCatalog, error) {
	bundle := i18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	ids := map[language.Tag][]string{}
	for _, lang := range trackLanguages {
		file := path.Join("trackpage", "messages", lang.tag.String()+".toml")
		mf, err := bundle.LoadMessageFileFS(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("tracking page messages %s: %w", file, err)
		}
		for _, m := range mf.Messages {
			ids[lang.tag] = append(ids[lang.tag], m.ID)
		}
		slices.Sort(ids[lang.tag])
	}

	source := ids[language.English]
	var problems []string
	for _, s := range logistics.Statuses {
		if !slices.Contains(source, "status."+string(s)) {
			problems = append(problems, "en.toml lacks status."+string(s))
		}
	}
	for _, p := range logistics.Phases {
		if !slices.Contains(source, "phase."+string(p)) {
			problems = append(problems, "en.toml lacks phase."+string(p))
		}
	}
	for _, lang := range trackLanguages[1:] {
		have := ids[lang.tag]
		for _, id := range source {
			if !slices.Contains(have, id) {
				problems = append(problems, fmt.Sprintf("%s.toml lacks %s", lang.tag, id))
			}
		}
		for _, id := range have {
			if !slices.Contains(source, id) {
				problems = append(problems, fmt.Sprintf("%s.toml has %s, which en.toml does not", lang.tag, id))
			}
		}
	}
	if len(problems) > 0 {
		return nil, errors.New("tracking page messages: " + strings.Join(problems, "; "))
	}

	cat := &trackCatalog{}
	tags := make([]language.Tag, len(trackLanguages))
	for i, lang := range trackLanguages {
		tags[i] = lang.tag
		loc := &trackLocale{
			tag:       lang.tag,
			htmlLang:  lang.htmlLang,
			text:      make(map[string]string, len(source)),
			localizer: i18n.NewLocalizer(bundle, lang.tag.String()),
			dates:     lang.dates(),
			regions:   display.Regions(lang.tag),
		}
		for _, id := range source {
			msg, tag, err := loc.localizer.LocalizeWithTag(&i18n.LocalizeConfig{MessageID: id})
			if err != nil {
				return nil, fmt.Errorf("tracking page message %s in %s: %w", id, lang.tag, err)
			}
			if tag != lang.tag {
				return nil, fmt.Errorf("tracking page message %s in %s fell back to %s", id, lang.tag, tag)
			}
			loc.text[id] = msg
		}
		cat.locales = append(cat.locales, loc)
	}
	cat.matcher = language.NewMatcher(tags)
	return cat, nil
}

// negotiate picks the page's language from an Accept-Language header with
// q-values, as x/text's matcher does (de-CH gets German, zh-TW the
// Simplified Chinese page, pt English). An absent, malformed or oversized
// header gets English.
func (c *trackCatalog) negotiate(acceptLanguage string) *trackLocale {
	if acceptLanguage == "" || len(acceptLanguage) > maxAcceptLanguage {
		return c.locales[0]
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return c.locales[0]
	}
	_, i, confidence := c.matcher.Match(tags...)
	if confidence == language.No {
		return c.locales[0]
	}
	return c.locales[i]
}
