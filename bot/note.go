package bot

import (
	"regexp"
	"strings"
	"unicode"
)

// An agent marks a message in a ticket's thread as an internal note with a leading
// marker. A note wrongly kept internal costs the agent a second message; a note relayed to
// the customer cannot be taken back (LINE has no unsend for a bot). So the marker is read
// the way people type it in a hurry, and an ambiguous leading marker counts as a note.
//
// The marker is looked for after folding (see noteFold) and after skipping what may
// precede it: white space, quote and list marks, and mentions ("@bob note: …"). It is
//
//   - a note word followed by a separator or the end: "note:", "NOTE -", "memo：",
//     "internal note:", "private |", "note to self:", "notes";
//   - a Japanese note word followed by a separator, a space or the end: "メモ:", "内部メモ ",
//     "社内：", "ノート-", "社外秘";
//   - a note word in brackets: "[note]", "(memo)", "【メモ】", "「社内」", "<internal>";
//   - the memo or lock emoji, or their Slack codes (":memo:", ":lock:").
//
// A note word that merely starts a sentence is not a marker: "Note that your code…",
// "Notes on your order", "メモ帳アプリで", "社内で確認します", "ノートパソコン" are replies.
var (
	noteWordsEN = `(?:(?:internal|private|staff|team)\s*-?\s*)?(?:notes?|memos?)` +
		`|notes?\s*to\s*(?:self|team|staff|agents?|all)` +
		`|(?:internal|private)(?:\s*(?:use\s*)?only)?|staff\s*only`
	noteWordsJA = `(?:内部|社内|非公開)\s*(?:メモ|ノート|用|のみ|限り|向け)?|社外秘|メモ|ノート`
	noteSep     = `[:;=|>→\-‐‑–—―、\])}】」』〕〉》≫\n\x01]`
	noteOpen    = `[\[(<{【「『〔〈《≪]`
	noteClose   = `[\])>}】」』〕〉》≫]`
	noteLead    = `(?:[\s>#•・\-]|@\S+)*`
	noteMarker  = regexp.MustCompile(`^` + noteLead + `(?:` +
		`(?::(?:memo|pencil2?|lock|spiralnotepad):|📝|🗒|🔒)` +
		`|` + noteOpen + `\s*(?:` + noteWordsEN + `|` + noteWordsJA + `)\s*(?:` + noteClose + `|` + noteSep + `|$)` +
		`|(?:` + noteWordsEN + `)\s*(?:` + noteSep + `|$)` +
		`|(?:` + noteWordsJA + `)(?:\s|` + noteSep + `|$)` +
		`)`)
)

// noteHead is how much of a message is read for a marker, in characters.
const noteHead = 200

// IsNote reports whether an agent's message in a ticket's thread is an internal note,
// kept in the transcript and never sent to the customer: whether it starts with a note
// marker (see above), in any case and width, through Slack-style formatting (*bold*,
// _italic_, ~strike~, `code`, > quote) and invisible characters (zero-width spaces and
// joiners, word joiners, byte-order marks, direction marks). It is safe for concurrent
// use.
func IsNote(text string) bool {
	return noteMarker.MatchString(noteFold(text))
}

// halfKana and fullKana are the half-width katakana and their full-width forms.
const (
	halfKana = "ｦｧｨｩｪｫｬｭｮｯｰｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜﾝ"
	fullKana = "ヲァィゥェォャュョッーアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン"
)

var kanaWidth = func() map[rune]rune {
	half, full := []rune(halfKana), []rune(fullKana)
	m := make(map[rune]rune, len(half))
	for i, r := range half {
		m[r] = full[i]
	}
	return m
}()

// noteFold returns the first noteHead characters of s folded for reading a marker:
// full-width ASCII and half-width katakana in their usual width, every space a plain
// space (a line break stays one), lower case, without invisible format characters and
// variation selectors, and with the formatting marks * _ ~ ` dropped, or read as a
// separator (\x01) where they close a word. (bot/ imports no Unicode normalisation library; this is the
// part of NFKC that a typed marker needs.)
func noteFold(s string) string {
	var b strings.Builder
	n := 0
	last := rune(0) // the last rune written
	for _, r := range s {
		if n >= noteHead {
			break
		}
		n++
		switch {
		case r >= '！' && r <= '～':
			r -= 0xFEE0
		case r == '\u3000' || (r != ' ' && r != '\n' && unicode.IsSpace(r)):
			r = ' '
		case unicode.Is(unicode.Cf, r), r >= '\uFE00' && r <= '\uFE0F', r == '\u034F':
			continue
		}
		if k, ok := kanaWidth[r]; ok {
			r = k
		}
		switch r {
		case '*', '_', '~', '`':
			// A mark that closes a word ("*note* …", "_memo_ …") ends the marker as
			// a separator would: formatting is how a label is set apart.
			if unicode.IsLetter(last) || unicode.IsDigit(last) {
				b.WriteByte('\x01')
				last = '\x01'
			}
			continue
		}
		last = unicode.ToLower(r)
		b.WriteRune(last)
	}
	return b.String()
}
