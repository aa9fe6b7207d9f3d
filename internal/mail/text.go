package mail

import (
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/encoding/charmap"
)

// fixText repairs text that is not UTF-8: 8-bit headers or bodies sent
// without a declared charset. Russian mail of that kind is Windows-1251 or
// KOI8-R; the one that gives more lower-case Cyrillic letters wins (KOI8-R
// read as Windows-1251 comes out in capitals, and the other way round),
// and text with no Cyrillic at all is read as Latin-1.
func fixText(s string) string {
	if validUTF8(s) {
		return s
	}
	best, bestScore := "", -1
	for _, cm := range []*charmap.Charmap{charmap.Windows1251, charmap.KOI8R} {
		d, err := cm.NewDecoder().String(s)
		if err != nil {
			continue
		}
		score := 0
		for _, r := range d {
			if r >= 'а' && r <= 'я' || r == 'ё' {
				score += 2
			} else if r >= 'А' && r <= 'Я' {
				score++
			}
		}
		if score > bestScore {
			best, bestScore = d, score
		}
	}
	if bestScore > 0 {
		return best
	}
	if d, err := charmap.ISO8859_1.NewDecoder().String(s); err == nil {
		return d
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// Unflow undoes format=flowed (RFC 3676): a line ending in a space goes on
// in the next line of the same quote depth; delsp=yes drops that space.
func Unflow(s string, delsp bool) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	var out []string
	var cur strings.Builder
	curDepth, open := 0, false
	flush := func() {
		if open {
			out = append(out, strings.Repeat(">", curDepth)+prefixSpace(curDepth)+cur.String())
			cur.Reset()
			open = false
		}
	}
	for _, line := range lines {
		depth := 0
		for depth < len(line) && line[depth] == '>' {
			depth++
		}
		content := line[depth:]
		content = strings.TrimPrefix(content, " ") // space-stuffing
		if open && depth != curDepth {
			flush()
		}
		flowed := strings.HasSuffix(content, " ") && content != "-- "
		if flowed && delsp {
			content = content[:len(content)-1]
		}
		cur.WriteString(content)
		curDepth, open = depth, true
		if !flowed {
			flush()
		}
	}
	flush()
	return strings.Join(out, "\n")
}

func prefixSpace(depth int) string {
	if depth > 0 {
		return " "
	}
	return ""
}

var (
	// A line that introduces quoted history.
	quoteHeaderRe = regexp.MustCompile(`(?i)^\s*(` +
		`on\b.{0,300}\bwrote:|` +
		`.{0,300}(написал|написала|написал\(а\)|пишет|писал|писала):|` +
		`.{0,300}<[^<>\s]+@[^<>\s]+>:|` +
		`-{2,}\s*(original message|исходное сообщение|пересылаемое сообщение|forwarded message|переадресованное сообщение)\s*-{2,}|` +
		`_{20,}` +
		`)\s*$`)
	// Outlook's header block of the message it answers.
	outlookFromRe = regexp.MustCompile(`(?i)^\s*\*?(from|от|отправитель):\*?\s+\S`)
	outlookSentRe = regexp.MustCompile(`(?i)^\s*\*?(sent|date|отправлено|дата|кому|to|subject|тема):\*?\s`)
	// Lines after which only the signature follows.
	mobileSigRe  = regexp.MustCompile(`(?i)^\s*(sent from my|sent from outlook|get outlook for|отправлено с|отправлено из|отправлено через|получено с)\b`)
	closingRe    = regexp.MustCompile(`(?i)^\s*(с уважением|с наилучшими пожеланиями|всего доброго|всего хорошего|спасибо|заранее спасибо|best regards|kind regards|warm regards|regards|best wishes|thanks|thank you|many thanks|cheers)\s*[,.!]*\s*$`)
	onWroteStart = regexp.MustCompile(`(?i)^\s*(on\s|в\s|\d{1,2}[./]\d{1,2}[./]\d{2,4}|\S{2,3},\s)`)
)

// TrimReply takes the new part of a reply: quoted history (lines that
// introduce it and everything after, lines starting with ">") and the
// signature are cut. A reply that would be left empty stays whole.
func TrimReply(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	cut := len(lines)
	for i, line := range lines {
		t := strings.TrimSpace(line)
		switch {
		case quoteHeaderRe.MatchString(line):
			cut = i
		case onWroteStart.MatchString(line) && i+1 < len(lines) && quoteHeaderRe.MatchString(t+" "+strings.TrimSpace(lines[i+1])):
			cut = i // "On Mon, … Ivan <a@b>" / "wrote:" split over two lines
		case outlookFromRe.MatchString(line) && followedBy(lines[i+1:], outlookSentRe, 4) && i > 0:
			cut = i
		case t == "--" || line == "-- " || mobileSigRe.MatchString(line):
			cut = i
		}
		if cut != len(lines) {
			break
		}
	}
	kept := make([]string, 0, cut)
	for _, line := range lines[:cut] {
		if strings.HasPrefix(strings.TrimLeft(line, " "), ">") {
			continue
		}
		kept = append(kept, line)
	}
	// A closing ("Regards,") near the end starts the signature.
	nonEmpty := 0
	for i := len(kept) - 1; i >= 0; i-- {
		if strings.TrimSpace(kept[i]) == "" {
			continue
		}
		if closingRe.MatchString(kept[i]) && i > 0 && hasText(kept[:i]) {
			kept = kept[:i]
			break
		}
		nonEmpty++
		if nonEmpty > 6 || len([]rune(kept[i])) > 80 {
			break
		}
	}
	out := strings.TrimSpace(strings.Join(kept, "\n"))
	if out == "" {
		return strings.TrimSpace(s)
	}
	return out
}

func hasText(lines []string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			return true
		}
	}
	return false
}

func followedBy(lines []string, re *regexp.Regexp, within int) bool {
	for i := 0; i < len(lines) && i < within; i++ {
		if re.MatchString(lines[i]) {
			return true
		}
	}
	return false
}

// GuessLang says whether a text is Russian (ru) or not (en).
func GuessLang(s string) string {
	cyr, lat := 0, 0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Cyrillic, r):
			cyr++
		case r < 0x80 && unicode.IsLetter(r):
			lat++
		}
	}
	if cyr > 0 && cyr*3 >= lat {
		return "ru"
	}
	if cyr == 0 && lat == 0 {
		return "ru"
	}
	return "en"
}
