package main

import (
	"database/sql"
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/giftdesk/giftdesk/flows"
	"github.com/giftdesk/giftdesk/internal/line/linetest"
	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
)

// codeForms are ways of typing a code that the code reader accepts and that the mask
// used to miss: groups split by a newline, zero-width space, thin, en or narrow no-break
// space, word joiner, or a double hyphen; full width with ideographic spaces.
var codeForms = []func(string) string{
	func(c string) string { return c[:4] + "\n" + c[4:10] + "\n" + c[10:] },
	func(c string) string { return c[:4] + "\u200b" + c[4:10] + "\u200b" + c[10:] },
	func(c string) string { return c[:4] + "\u2009" + c[4:10] + "\u2009" + c[10:] },
	func(c string) string { return c[:4] + "\u2002" + c[4:10] + "\u2002" + c[10:] },
	func(c string) string { return c[:4] + "\u202f" + c[4:10] + "\u202f" + c[10:] },
	func(c string) string { return c[:4] + "\u2060" + c[4:10] + "\u2060" + c[10:] },
	func(c string) string { return c[:4] + "--" + c[4:10] + "--" + c[10:] },
	func(c string) string { return strings.ToLower(c[:5] + "\r\n" + c[5:10] + "\r\n" + c[10:]) },
}

// codeLeaks returns the runs of six characters of codes (not the last run, which holds the
// shown last four; not a run of digits alone, which random timestamps and durations hold)
// that text holds, folded as the code reader folds a code.
func codeLeaks(text string, codes []string) []string {
	folded := flows.NormalizeCode(text)
	var found []string
	for _, c := range codes {
		for i := 0; i+6 < len(c); i++ {
			piece := c[i : i+6]
			if strings.Trim(piece, "0123456789") == "" {
				continue // digits alone are what timestamps and durations are made of
			}
			if strings.Contains(folded, piece) {
				found = append(found, flows.MaskCode(c)+" ("+piece[:1]+"…)")
				break
			}
		}
	}
	return found
}

// TestCodeFormsNeverStored types codes in every form above to the bot on LINE — at a
// question, at the code prompt, while waiting for a person (relayed to the Slack ticket
// thread) and in a signed body that cannot be parsed — and searches the transcripts, the
// dead letters, everything posted to Slack and sent to LINE, and the logs.
func TestCodeFormsNeverStored(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 18))
	var codes []string
	for range len(codeForms) + 2 {
		codes = append(codes, canaryCode(rng))
	}
	fake := linetest.New(t, linetest.Config{})
	slack := slacktest.NewServer()
	t.Cleanup(slack.Close)
	slack.Join("CHANDOFF")
	db := filepath.Join(t.TempDir(), "giftdesk.db")
	var logs syncBuffer
	env := map[string]string{
		"GIFTDESK_DB": db, "LINE_CHANNEL_SECRET": testSecret, "LINE_CHANNEL_ACCESS_TOKEN": fake.Token(),
		"LINE_API_BASE_URL": fake.URL(), "SLACK_BOT_TOKEN": slacktest.BotToken, "SLACK_SIGNING_SECRET": slackSecret,
		"SLACK_API_URL": slack.URL(), "SLACK_HANDOFF_CHANNEL": "CHANDOFF", "GIFTDESK_BUSINESS_HOURS": "always",
		"GIFTDESK_LOG_LEVEL": "debug", "GIFTDESK_LOG_FORMAT": "json",
	}
	s := startServeWith(t, fake, env, &logs)
	user := "U" + strings.Repeat("f", 32)
	typed := func(i int) string { return codeForms[i%len(codeForms)](codes[i]) }

	// At the first question (read as a fact: its format is checked at once), then, after
	// starting over, at the code prompt (the reader takes it for a code). A turn's answers
	// arrive in one reply, so waiting for the first of them waits for all.
	msgs := s.say(user, s.textEvent(user, "コードは "+typed(0)+" です。使えません"), 2)
	msgs = s.say(user, s.textEvent(user, "最初から"), len(msgs)+1)
	msgs = s.say(user, s.postbackEvent(user, quick(t, msgs, "番号が無効と出る")), len(msgs)+1)
	msgs = s.say(user, s.textEvent(user, typed(1)), len(msgs)+2)
	if !strings.Contains(texts(msgs), "****-") && !strings.Contains(texts(msgs[len(msgs)-2:]), "形式") {
		t.Logf("answers to the typed code:\n%s", texts(msgs))
	}

	// A hand-off: what the customer writes is relayed to the ticket's thread.
	s.say(user, s.textEvent(user, "担当者と話したい"), len(fake.Delivered(user))+1)
	ctx := waitCtx(t)
	roots, err := slack.WaitMessages(ctx, "CHANDOFF", 1)
	if err != nil {
		t.Fatalf("no ticket posted: %v", err)
	}
	relayed := 0
	for i := 2; i < len(codeForms); i++ {
		s.post(s.textEvent(user, "念のため "+typed(i)+" も送ります"))
		relayed++
	}
	if _, err := slack.WaitReplies(ctx, "CHANDOFF", roots[0].TS, relayed); err != nil {
		t.Fatalf("the customer's messages were not relayed: %v", err)
	}

	// A signed body that cannot be parsed, with codes in JSON escapes, is a dead letter.
	escaped, _ := json.Marshal(typed(len(codeForms)))
	bad := []byte(`{"events":[{"type":"message","text":` + string(escaped) + `,"more":"` +
		strings.ReplaceAll(codeForms[1](codes[len(codeForms)+1]), "\u200b", `\u200b`) + `"`)
	if code := s.postRaw(bad, linetest.Sign(testSecret, bad)); code != 200 {
		t.Fatalf("malformed body answered %d, want 200 (kept as a dead letter)", code)
	}
	s.stop()

	dbh, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer dbh.Close()
	column := func(query string) string {
		rows, err := dbh.Query(query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var b strings.Builder
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			b.WriteString(v + "\n")
		}
		return b.String()
	}
	transcripts := column(`SELECT text FROM transcripts`)
	deadLetters := column(`SELECT CAST(body AS TEXT) FROM dead_letters`)
	if !strings.Contains(transcripts, "****-") || !strings.Contains(deadLetters, "****-") {
		t.Errorf("no masked code stored; were the codes typed at all?\ntranscripts:\n%s\ndead letters:\n%s", transcripts, deadLetters)
	}
	var posted strings.Builder
	for _, m := range slack.Messages("CHANDOFF") {
		posted.WriteString(m.Plain() + "\n")
		for _, r := range slack.Replies("CHANDOFF", m.TS) {
			posted.WriteString(r.Plain() + "\n")
		}
	}
	var sent strings.Builder
	for _, c := range fake.Calls() {
		sent.Write(c.Body)
	}
	for name, text := range map[string]string{
		"transcripts.text": transcripts, "dead_letters.body": deadLetters, "Slack posts": posted.String(),
		"LINE messages": sent.String(), "logs": logs.String(),
	} {
		if found := codeLeaks(text, codes); len(found) > 0 {
			t.Errorf("%s hold codes %v:\n%s", name, found, text)
		}
	}
}
