package web

import (
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Catalogs live in locales/, one file per area and language
// (common.en.json, common.ru.json, …), so areas can grow independently.
//
//go:embed locales/*.json
var localeFS embed.FS

// Languages tend speaks, Russian first: it is the vendors' language.
var Languages = []language.Tag{language.Russian, language.English}

var matcher = language.NewMatcher(Languages)

func loadBundle() (*i18n.Bundle, error) {
	b := i18n.NewBundle(language.Russian)
	b.RegisterUnmarshalFunc("json", jsonUnmarshal)
	files, err := fs.Glob(localeFS, "locales/*.json")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		data, err := localeFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if _, err := b.ParseMessageFileBytes(data, f); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	return b, nil
}

// langOf picks the language: the account's choice, then the browser's.
func langOf(r *http.Request, accountLang string) string {
	if accountLang == "ru" || accountLang == "en" {
		return accountLang
	}
	tags, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	tag, _, _ := matcher.Match(tags...)
	base, _ := tag.Base()
	if base.String() == "en" {
		return "en"
	}
	return "ru"
}

// translator renders messages in one language; a missing key shows the
// key itself (and a test makes sure none is missing).
type translator struct {
	lang string
	loc  *i18n.Localizer
}

// translator is the catalog of one language.
func (s *Server) translator(lang string) translator {
	return translator{lang: lang, loc: i18n.NewLocalizer(s.bundle, lang)}
}

func (t translator) T(id string, args ...any) string {
	cfg := &i18n.LocalizeConfig{MessageID: id}
	if len(args) > 0 {
		data := map[string]any{}
		for i := 0; i+1 < len(args); i += 2 {
			data[fmt.Sprint(args[i])] = args[i+1]
			if k := fmt.Sprint(args[i]); k == "Count" {
				cfg.PluralCount = args[i+1]
			}
		}
		cfg.TemplateData = data
	}
	s, err := t.loc.Localize(cfg)
	if err != nil {
		return id
	}
	return s
}

// Has reports whether the catalog has id (for optional, keyed texts).
func (t translator) Has(id string) bool {
	_, err := t.loc.Localize(&i18n.LocalizeConfig{MessageID: id})
	return err == nil || !strings.Contains(err.Error(), "not found")
}
