// Package search turns the text of requests and what people type into a
// search box into the same terms, so that the store can index the one and
// look up the other on either engine (SQLite FTS5, a PostgreSQL GIN index)
// with the same results: the engines only ever see finished terms, never
// text to parse by their own rules.
//
// A term is a word lowercased, with ё folded to е (people write "отчет"
// for "отчёт"), and stemmed: Russian words by the Russian snowball
// stemmer, English ones by the English, so "отчёт", "отчеты" and "отчетов"
// are one term, as are "badge" and "badges". Words of other scripts,
// numbers and words mixed with digits are kept as they are.
package search

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
	"github.com/kljensen/snowball/russian"
	"golang.org/x/text/unicode/norm"

	"tend/internal/apperr"
)

const (
	// maxTermRunes drops longer "words": base64 blobs and dumps pasted
	// into a description say nothing a person would type.
	maxTermRunes = 64
	// minPrefixRunes: a shorter last word is matched whole. "по*" would
	// merge the postings of hundreds of words and find half the desk.
	minPrefixRunes = 3
	// MaxQueryRunes and MaxQueryTerms bound what one search may ask for.
	MaxQueryRunes = 200
	MaxQueryTerms = 12
)

// Terms gives the distinct index terms of text, sorted.
func Terms(text string) []string {
	var terms []string
	tokenize(text, func(term string, _ bool) { terms = append(terms, term) })
	slices.Sort(terms)
	return slices.Compact(terms)
}

// tokenize calls emit with the term of each word of text that is worth
// indexing; last says the word ended the text (nothing but the end of the
// text after it).
func tokenize(text string, emit func(term string, last bool)) {
	if !tokenizeAs(text, emit, false) {
		// Decomposed letters (и + U+0306 for й) would split words.
		tokenizeAs(norm.NFC.String(text), emit, true)
	}
}

// tokenizeAs tokenizes text; unless normalized, it stops before emitting
// anything when it meets a combining mark, for the caller to normalize
// the text first (checking every text for NFC took 40% of the time).
func tokenizeAs(text string, emit func(term string, last bool), normalized bool) bool {
	if !normalized {
		for _, r := range text {
			if r >= 0x300 && (unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)) {
				return false
			}
		}
	}
	var buf [64]rune
	word := buf[:0]
	inWord := false
	for _, r := range text {
		if lr, ok := wordRune(r); ok {
			word, inWord = append(word, lr), true
			continue
		}
		if inWord && (unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)) {
			// A mark NFC could not compose belongs to its word; it is
			// dropped so that "e\u0301" and "e" stay one term.
			continue
		}
		if inWord {
			if term, ok := termOf(word); ok {
				emit(term, false)
			}
		}
		word, inWord = buf[:0], false
	}
	if inWord {
		if term, ok := termOf(word); ok {
			emit(term, true)
		}
	}
	return true
}

// wordRune says whether r is part of a word, and gives it lowercased with
// ё folded; the alphabets of the desk first, without table lookups.
func wordRune(r rune) (rune, bool) {
	switch {
	case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
		return r, true
	case r >= 'A' && r <= 'Z':
		return r + ('a' - 'A'), true
	case r < 0x80:
		return 0, false
	case r >= 'а' && r <= 'я':
		return r, true
	case r >= 'А' && r <= 'Я':
		return r + ('а' - 'А'), true
	case r == 'ё' || r == 'Ё':
		return 'е', true
	case unicode.IsLetter(r) || unicode.IsDigit(r):
		return unicode.ToLower(r), true
	}
	return 0, false
}

// script is what a word is written in, for the choice of stemmer.
type script int

const (
	cyrillic script = 1 << iota // а–я only (after folding ё)
	latin                       // a–z only
	digits
	other
)

func scriptOf(word []rune) script {
	var s script
	for _, r := range word {
		switch {
		case r >= 'а' && r <= 'я':
			s |= cyrillic
		case r >= 'a' && r <= 'z':
			s |= latin
		case r >= '0' && r <= '9':
			s |= digits
		default:
			s |= other
		}
	}
	return s
}

// homoglyphs are the Cyrillic letters drawn like Latin ones. In a word
// with digits ("1С", "В2", "КПП1") which alphabet was typed is chance: the
// same product is "1С" in one request and "1C" in the next.
var homoglyphs = map[rune]rune{'а': 'a', 'в': 'b', 'е': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c', 'т': 't', 'у': 'y', 'х': 'x'}

// termOf is the term a word (lowercased, ё folded) stands for, if any.
func termOf(word []rune) (string, bool) {
	n := len(word)
	if n < 2 || n > maxTermRunes {
		return "", false
	}
	s := scriptOf(word)
	if s == digits && n < 3 {
		return "", false // days, hours, list numbers: in every other log line
	}
	if s&digits != 0 && s&other == 0 {
		for i, r := range word {
			if h, ok := homoglyphs[r]; ok {
				word[i] = h
			}
		}
		return string(word), true
	}
	w := string(word)
	switch s {
	case cyrillic:
		if russian.IsStopWord(w) {
			return "", false
		}
		return stems.get(w, russianStem), true
	case latin:
		if english.IsStopWord(w) || w == "req" {
			// "req" is the prefix of every registration number, which is
			// indexed for its year and serial.
			return "", false
		}
		return stems.get(w, englishStem), true
	}
	return w, true
}

func russianStem(w string) string { return russian.Stem(w, true) }
func englishStem(w string) string { return english.Stem(w, true) }

// stems remembers the stems of words seen: the snowball stemmers take
// about a microsecond a word (they allocate for every suffix they try),
// while a desk's vocabulary is a few thousand words used over and over.
var stems = stemCache{m: map[string]string{}}

// maxCachedStems bounds the cache (a few MiB at most); when it is full it
// starts again rather than keeping an eviction order.
const maxCachedStems = 1 << 15

type stemCache struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *stemCache) get(word string, stem func(string) string) string {
	c.mu.Lock()
	s, ok := c.m[word]
	c.mu.Unlock()
	if ok {
		return s
	}
	if s = stem(word); s == "" {
		s = word // never an empty term, whatever the stemmer does
	}
	c.mu.Lock()
	if len(c.m) >= maxCachedStems {
		clear(c.m)
	}
	c.m[word] = s
	c.mu.Unlock()
	return s
}

// Term is one term of a query.
type Term struct {
	Text string
	// Prefix matches every term that begins with Text: the word the
	// person is still typing.
	Prefix bool
}

// Query is a parsed search: a request matches when it has every term.
type Query struct {
	Terms []Term
}

// Empty says the query has nothing to look for (only stop words, short
// words or punctuation): it matches nothing.
func (q Query) Empty() bool { return len(q.Terms) == 0 }

// Parse turns what someone typed into terms, by the rules the text was
// indexed with. The last word is a prefix unless the query ends after it
// (a space, a closing quote), so typing "турник" finds "турникет" and
// "отчёт" finds "отчеты"; the other words match whole, in any form.
func Parse(q string) (Query, error) {
	if !utf8.ValidString(q) {
		return Query{}, apperr.Field("q", "the search is not valid UTF-8")
	}
	if utf8.RuneCountInString(q) > MaxQueryRunes {
		return Query{}, apperr.Field("q", "the search is longer than %d characters", MaxQueryRunes)
	}
	var out Query
	tokenize(q, func(term string, last bool) {
		prefix := last && utf8.RuneCountInString(term) >= minPrefixRunes
		for i, t := range out.Terms {
			if t.Text == term {
				// A word typed twice: the whole word wins over the prefix.
				out.Terms[i].Prefix = t.Prefix && prefix
				return
			}
		}
		out.Terms = append(out.Terms, Term{Text: term, Prefix: prefix})
	})
	if len(out.Terms) > MaxQueryTerms {
		return Query{}, apperr.Field("q", "the search has more than %d words", MaxQueryTerms)
	}
	return out, nil
}

// FTS5 is the query in SQLite FTS5's syntax: each term quoted (terms hold
// only letters and digits, so never a quote), a prefix starred, all of them
// required.
func (q Query) FTS5() string {
	var b strings.Builder
	for i, t := range q.Terms {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		b.WriteString(t.Text)
		b.WriteByte('"')
		if t.Prefix {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// TSQuery is the query as a PostgreSQL tsquery literal, whose lexemes are
// taken as they are (no dictionary runs on a cast to tsquery).
func (q Query) TSQuery() string {
	var b strings.Builder
	for i, t := range q.Terms {
		if i > 0 {
			b.WriteString(" & ")
		}
		b.WriteByte('\'')
		b.WriteString(t.Text)
		b.WriteByte('\'')
		if t.Prefix {
			b.WriteString(":*")
		}
	}
	return b.String()
}

var numberPattern = regexp.MustCompile(`(?i)^REQ-\d{4}-\d{6,}$`)

// Number gives the registration number q is, spelled as the store keeps
// it (REQ-2026-000123), if q is one.
func Number(q string) (string, bool) {
	q = strings.TrimSpace(q)
	if !numberPattern.MatchString(q) {
		return "", false
	}
	return strings.ToUpper(q), true
}
