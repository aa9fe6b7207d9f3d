package search

import (
	"slices"
	"strings"
	"testing"
	"unicode"

	"tend/internal/apperr"
)

// matches is what both engines do with a query: every term is in the
// document, or begins one of its terms when it is a prefix.
func matches(q Query, doc []string) bool {
	if q.Empty() {
		return false
	}
	for _, t := range q.Terms {
		found := false
		for _, d := range doc {
			if d == t.Text || t.Prefix && strings.HasPrefix(d, t.Text) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func mustParse(t *testing.T, q string) Query {
	t.Helper()
	p, err := Parse(q)
	if err != nil {
		t.Fatalf("Parse(%q): %v", q, err)
	}
	return p
}

func TestWordFormsAreOneTerm(t *testing.T) {
	for _, forms := range [][]string{
		{"отчёт", "отчет", "отчеты", "отчетов", "Отчёты", "ОТЧЁТАМИ"},
		{"турникет", "турникеты", "турникетов", "Турникета"},
		{"квитанция", "квитанции", "квитанций"},
		{"счётчик", "счетчики", "счётчиков"},
		{"badge", "badges", "Badges"},
		{"export", "exports", "exported", "exporting"},
		{"timeout", "timeouts"},
	} {
		want := Terms(forms[0])
		if len(want) != 1 {
			t.Fatalf("Terms(%q) = %q, want one term", forms[0], want)
		}
		for _, f := range forms[1:] {
			if got := Terms(f); !slices.Equal(got, want) {
				t.Errorf("Terms(%q) = %q, want %q (as %q)", f, got, want, forms[0])
			}
		}
	}
	if a, b := Terms("отчёт"), Terms("турникет"); slices.Equal(a, b) {
		t.Errorf("different words share a term: %q", a)
	}
}

func TestTermsOfADescription(t *testing.T) {
	got := Terms("Не открывается турникет на КПП-1! Badge printing fails: timeout (30s), ошибка 500; см. REQ-2026-000123, 1С:ЗУП 3.1.27")
	for _, want := range []string{"открыва", "турникет", "кпп", "badg", "print", "fail", "timeout", "30s", "ошибк", "500", "2026", "000123", "1c", "зуп"} {
		if !slices.Contains(got, want) {
			t.Errorf("Terms lack %q: %q", want, got)
		}
	}
	for _, unwanted := range []string{"не", "на", "1", "3", "27", "req", "с"} {
		if slices.Contains(got, unwanted) {
			t.Errorf("Terms keep %q: %q", unwanted, got)
		}
	}
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("Terms are not distinct and sorted: %q", got)
	}
}

func TestTermsHoldOnlyLettersAndDigits(t *testing.T) {
	// The engines split the stored terms on spaces (FTS5's ascii
	// tokenizer) or take them whole (array_to_tsvector): a term with a
	// separator or a space in it would be two terms on one engine.
	text := "ñandú e\u0301te\u0301 Straße İstanbul i̇ ½ ٣٤٥ 中文字 тест-кейс a\u200bb \"quoted\" O'Brien"
	for _, term := range Terms(text) {
		for _, r := range term {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				t.Errorf("term %q holds %U", term, r)
			}
		}
		if term != strings.ToLower(term) && !strings.ContainsFunc(term, func(r rune) bool { return r > unicode.MaxLatin1 }) {
			t.Errorf("term %q is not lower case", term)
		}
	}
}

func TestDecomposedLettersAreTheComposedOnes(t *testing.T) {
	composed := "Зайти в личный кабинет"
	decomposed := strings.ReplaceAll(composed, "й", "и\u0306")
	if a, b := Terms(composed), Terms(decomposed); !slices.Equal(a, b) {
		t.Errorf("NFD text gives %q, NFC %q", b, a)
	}
}

func TestDigitWordsIgnoreTheAlphabet(t *testing.T) {
	if a, b := Terms("выгрузка в 1С"), Terms("export to 1C"); !slices.Contains(a, "1c") || !slices.Contains(b, "1c") {
		t.Errorf("1С (Cyrillic) %q and 1C (Latin) %q differ", a, b)
	}
}

func TestParsePrefixAndWholeWords(t *testing.T) {
	doc := Terms("Не открывается турникет на проходной 3; отчёты по посещаемости не формируются")
	for _, c := range []struct {
		q    string
		want bool
	}{
		{"турник", true},    // the word being typed
		{"турникет", true},  // the whole word
		{"турникеты", true}, // another form
		{"Турникет проходной", true},
		{"турник ", false},          // typed to the end: a whole word, and no such word
		{`"турник"`, false},         // quoted: whole
		{"турникет проход", true},   // only the last word is a prefix
		{"турник проходной", false}, // "турник" is not the last word: whole
		{"отчет", true},             // ё folded
		{"отчётов", true},
		{"отчёты посещаемость", true},
		{"отчёты лифт", false},     // every term must match
		{"открыв турникет", false}, // not last: whole
		{"не на", false},           // stop words only: nothing to look for
	} {
		if got := matches(mustParse(t, c.q), doc); got != c.want {
			t.Errorf("%q matches %v, want %v (query %+v, doc %q)", c.q, got, c.want, mustParse(t, c.q), doc)
		}
	}
}

func TestParseEnglish(t *testing.T) {
	doc := Terms("Badge printing fails with a timeout at gate 3")
	for _, c := range []struct {
		q    string
		want bool
	}{
		{"badge", true}, {"badges", true}, {"BADGES timeout", true}, {"bad", true}, {"print", true},
		{"printing fails", true}, {"badge ldap", false}, {"the", false},
	} {
		if got := matches(mustParse(t, c.q), doc); got != c.want {
			t.Errorf("%q matches %v, want %v", c.q, got, c.want)
		}
	}
}

func TestShortLastWordIsWhole(t *testing.T) {
	q := mustParse(t, "1с")
	if len(q.Terms) != 1 || q.Terms[0] != (Term{Text: "1c"}) {
		t.Errorf("Parse(1с) = %+v, want the whole term 1c", q)
	}
	// A word typed whole before also typed as the prefix stays whole.
	q = mustParse(t, "отчёт отчеты")
	if len(q.Terms) != 1 || q.Terms[0].Prefix {
		t.Errorf("Parse(отчёт отчеты) = %+v, want one whole term", q)
	}
}

func TestQuerySyntaxForEachEngine(t *testing.T) {
	q := mustParse(t, "Fire пожарной панел")
	if got, want := q.FTS5(), `"fire" "пожарн" "панел"*`; got != want {
		t.Errorf("FTS5 = %s, want %s", got, want)
	}
	if got, want := q.TSQuery(), `'fire' & 'пожарн' & 'панел':*`; got != want {
		t.Errorf("TSQuery = %s, want %s", got, want)
	}
}

func TestParseRefusesOversizedQueries(t *testing.T) {
	for _, q := range []string{strings.Repeat("отчёт ", 100), strings.Join(strings.Fields("one two three four five six seven eight nine ten eleven twelve thirteen"), " "), "\xff\xfe"} {
		_, err := Parse(q)
		if e := apperr.As(err); err == nil || e.Code != apperr.Invalid || e.Field != "q" {
			t.Errorf("Parse(%.30q…) = %v, want an invalid q", q, err)
		}
	}
	if _, err := Parse(strings.Repeat("и ", MaxQueryRunes/2)); err != nil {
		t.Errorf("stop words within the length: %v", err)
	}
}

func TestNumber(t *testing.T) {
	for q, want := range map[string]string{
		"REQ-2026-000123": "REQ-2026-000123", " req-2026-000123 ": "REQ-2026-000123", "Req-2025-1234567": "REQ-2025-1234567",
		"REQ-2026-123": "", "REQ-2026-000123 турникет": "", "2026-000123": "", "REQ 2026 000123": "",
	} {
		got, ok := Number(q)
		if got != want || ok != (want != "") {
			t.Errorf("Number(%q) = %q, %v; want %q", q, got, ok, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"турник", "отчёт ", `"fire panel"`, "1С", "REQ-2026-000123", "e\u0301", "a*b\"c'd&e:f|g!h(", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil {
			if e := apperr.As(err); e.Field != "q" {
				t.Fatalf("Parse(%q): %v", s, err)
			}
			return
		}
		if len(q.Terms) > MaxQueryTerms {
			t.Fatalf("Parse(%q) gave %d terms", s, len(q.Terms))
		}
		for _, term := range q.Terms {
			if term.Text == "" || strings.ContainsFunc(term.Text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
				t.Fatalf("Parse(%q): term %q", s, term.Text)
			}
		}
		// The query's terms are the text's own: a document of the query
		// text is found by it.
		if !q.Empty() && !matches(q, Terms(s)) {
			t.Fatalf("Parse(%q) = %+v does not find its own text %q", s, q, Terms(s))
		}
	})
}

// A description of the usual length (about 350 characters), Russian with
// English log lines, as the bulk of a million requests is indexed.
const description = `Добрый день! С сегодняшнего утра не открывается турникет на проходной 3, пропускаем людей вручную. ` +
	`Перезапуск сервиса и сервера не помог. В журнале: ERROR gateway: upstream access-control timed out after 30s (request_id=3fa2c1b9). ` +
	`Отчёт по посещаемости за октябрь формируется более 40 минут.`

func BenchmarkTokenize(b *testing.B) {
	b.SetBytes(int64(len(description)))
	for b.Loop() {
		Terms(description)
	}
}

// BenchmarkTokenizeUncached is the same with every word stemmed anew: a
// description full of words the process has not met yet.
func BenchmarkTokenizeUncached(b *testing.B) {
	b.SetBytes(int64(len(description)))
	for b.Loop() {
		stems.mu.Lock()
		clear(stems.m)
		stems.mu.Unlock()
		Terms(description)
	}
}

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		Parse("отчёт по посещаемости турник")
	}
}
