package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/flows"
	"github.com/giftdesk/giftdesk/internal/line/linetest"
	"github.com/giftdesk/giftdesk/internal/settle"
	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
)

const publicURL = "https://giftdesk.example"

// mediaEvent is a LINE message event of a photo, file, sticker or location.
func (s *lineServer) mediaEvent(user string, message map[string]any) event {
	message["id"] = fmt.Sprint(7000 + s.seq.Add(1))
	message["quoteToken"] = "q"
	return s.userEvent(user, "message", map[string]any{"message": message})
}

// threadSays waits until a message of the bot in the ticket's thread contains want.
func threadSays(t *testing.T, fake *slacktest.Server, root slacktest.Message, want string) slacktest.Message {
	t.Helper()
	var found slacktest.Message
	err := settle.Until(waitCtx(t), func() (bool, error) {
		for _, m := range fake.Replies(root.Channel, root.TS) {
			if strings.Contains(m.Plain(), want) || strings.Contains(m.Text, want) {
				found = m
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		var lines []string
		for _, m := range fake.Replies(root.Channel, root.TS) {
			lines = append(lines, m.Plain())
		}
		t.Fatalf("no %q in the thread: %v\n%s", want, err, strings.Join(lines, "\n"))
	}
	return found
}

// handedOff starts a desk with extra settings and hands customer off; it returns the
// ticket's root.
func handedOff(t *testing.T, extra map[string]string) (*desk, slacktest.Message, string) {
	t.Helper()
	fake := linetest.New(t, linetest.Config{})
	slack := slacktest.NewServer()
	t.Cleanup(slack.Close)
	slack.Join("CHANDOFF")
	slack.AddMembers("CHANDOFF", "UALICE")
	slack.AddUser(slacktest.User{ID: "UALICE", Name: "alice", DisplayName: "アリス"})
	db := filepath.Join(t.TempDir(), "giftdesk.db")
	env := map[string]string{"LINE_API_DATA_BASE_URL": fake.URL()}
	for k, v := range extra {
		env[k] = v
	}
	d := startDesk(t, fake, slack, db, env)
	customer := "U" + strings.Repeat("m", 32)
	fake.SetProfile(customer, linetest.Profile{DisplayName: "山田花子", Language: "ja"})
	msgs := d.say(customer, d.textEvent(customer, "こんにちは"), 2)
	d.say(customer, d.textEvent(customer, "担当者と話したい"), len(msgs)+1)
	roots, err := slack.WaitMessages(waitCtx(t), "CHANDOFF", 1)
	if err != nil {
		t.Fatalf("no ticket posted: %v", err)
	}
	waitLinked(t, db, roots[0])
	return d, roots[0], customer
}

// TestMediaHandoff: during a hand-off a LINE customer's photo is fetched from LINE's
// content API and shared in the ticket's thread as a file (the customer is told); a file
// over the size limit, a blocked type, and a photo found too large only when read are
// each a line in the thread (the customer told what can be); a sticker and a location
// are lines of text. An agent's photo and PDF reach the customer as an image message and
// a link, served by giftdesk from Slack through signed links that refuse a bad or expired
// signature.
func TestMediaHandoff(t *testing.T) {
	d, root, customer := handedOff(t, map[string]string{
		"GIFTDESK_PUBLIC_URL": publicURL, "GIFTDESK_MEDIA_MAX_BYTES": "64KiB",
	})
	fake, slack := d.fake, d.slack
	seen := len(fake.Delivered(customer))

	// A photo: fetched, uploaded to the thread, the customer told.
	photo := bytes.Repeat([]byte{0xff, 0xd8, 0xff, 0xe0, 1, 2, 3}, 1000)
	ev := d.mediaEvent(customer, map[string]any{"type": "image", "contentProvider": map[string]any{"type": "line"}})
	id := ev["message"].(map[string]any)["id"].(string)
	fake.SetContent(id, "image/jpeg", photo)
	seen++
	msgs := d.say(customer, ev, seen)
	wantIn(t, "answer to a photo", msgs[len(msgs)-1].Text, "画像を担当者に送りました")
	files, err := slack.WaitSharedFiles(waitCtx(t), root.Channel, root.TS, 1)
	if err != nil {
		t.Fatalf("no file in the thread: %v", err)
	}
	if f := files[0]; !bytes.Equal(f.Content, photo) || f.Name != "line-image-"+id+".jpg" || !strings.Contains(f.Comment, "山田花子") {
		t.Errorf("shared file %q (%d bytes, comment %q), want the photo's %d bytes as line-image-%s.jpg by 山田花子",
			f.Name, len(f.Content), f.Comment, len(photo), id)
	}
	threadSays(t, slack, root, "山田花子: 画像")

	// A file whose name holds a gift-card code: shared under the masked name.
	const named = "AQ7X-K29PLM-ZR4TW.pdf"
	ev = d.mediaEvent(customer, map[string]any{"type": "file", "fileName": named, "fileSize": 9})
	fake.SetContent(ev["message"].(map[string]any)["id"].(string), "application/pdf", []byte("%PDF-1.4 "))
	seen++
	d.say(customer, ev, seen)
	files, err = slack.WaitSharedFiles(waitCtx(t), root.Channel, root.TS, 2)
	if err != nil {
		t.Fatalf("the named file was not shared: %v", err)
	}
	if f := files[1]; f.Name != flows.RedactCodes(named) || strings.Contains(f.Name+f.Title, "K29PLM") {
		t.Errorf("shared as %q titled %q, want the code masked", f.Name, f.Title)
	}

	// A file declared over the limit, and one of a blocked type: not fetched.
	seen++
	msgs = d.say(customer, d.mediaEvent(customer, map[string]any{"type": "file", "fileName": "statement.pdf", "fileSize": 200000}), seen)
	wantIn(t, "answer to a large file", msgs[len(msgs)-1].Text, "大きすぎる", "64 KB")
	threadSays(t, slack, root, "サイズ上限 64 KB 超")
	seen++
	msgs = d.say(customer, d.mediaEvent(customer, map[string]any{"type": "file", "fileName": "setup.exe", "fileSize": 100}), seen)
	wantIn(t, "answer to a blocked file", msgs[len(msgs)-1].Text, "この種類のファイルは担当者に送れません")
	threadSays(t, slack, root, "この種類は転送しない設定です")

	// A video whose size LINE tells only by sending it, over the limit.
	video := d.mediaEvent(customer, map[string]any{"type": "video", "duration": 60000, "contentProvider": map[string]any{"type": "line"}})
	fake.SetChunkedContent(video["message"].(map[string]any)["id"].(string), "video/mp4", make([]byte, 100<<10))
	seen++
	d.say(customer, video, seen)
	threadSays(t, slack, root, "サイズ上限 64 KB を超えるため転送していません")

	// A sticker and a location: lines of text.
	if code := d.post(d.mediaEvent(customer, map[string]any{"type": "sticker", "packageId": "446", "stickerId": "1988",
		"stickerResourceType": "STATIC", "keywords": []string{"thanks", "ok"}})); code != http.StatusOK {
		t.Fatalf("sticker answered %d", code)
	}
	threadSays(t, slack, root, "[スタンプ] thanks, ok")
	seen++
	msgs = d.say(customer, d.mediaEvent(customer, map[string]any{"type": "location", "title": "東京駅",
		"address": "東京都千代田区丸の内1丁目", "latitude": 35.681, "longitude": 139.767}), seen)
	wantIn(t, "answer to a location", msgs[len(msgs)-1].Text, "位置情報を担当者に送りました")
	threadSays(t, slack, root, "[位置情報] 東京駅 東京都千代田区丸の内1丁目")
	if n := len(slack.Files()); n != 2 {
		t.Errorf("%d files in Slack, want the photo and the named file only", n)
	}

	// The agent sends a photo with a word, then a PDF.
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte("p"), 500)...)
	img := slack.AddFile(slacktest.File{Name: "guide.png", Mimetype: "image/png", Content: png})
	body, msg := slack.FileShareEvent(root.Channel, "UALICE", "こちらの画面をご覧ください", root.TS, img)
	if code := d.slackPost("/slack/events", "application/json", body, 0); code != http.StatusOK {
		t.Fatalf("file_share event answered %d", code)
	}
	seen += 2
	msgs = d.delivered(customer, seen)
	wantIn(t, "agent's words", msgs[len(msgs)-2].Text, "こちらの画面をご覧ください")
	image := msgs[len(msgs)-1]
	var im struct{ OriginalContentURL, PreviewImageURL string }
	var raw map[string]string
	_ = json.Unmarshal(image.Raw, &raw)
	im.OriginalContentURL, im.PreviewImageURL = raw["originalContentUrl"], raw["previewImageUrl"]
	if image.Type != "image" || !strings.HasPrefix(im.OriginalContentURL, publicURL+"/media/"+img.ID+"?") ||
		!strings.HasPrefix(im.PreviewImageURL, publicURL+"/media/"+img.ID+"~preview?") {
		t.Fatalf("agent's photo reached the customer as %s %s", image.Type, image.Raw)
	}
	if _, err := slack.WaitReaction(waitCtx(t), msg.Channel, msg.TS); err != nil {
		t.Errorf("no receipt on the agent's file: %v", err)
	}
	if code, got := d.fetch(t, im.OriginalContentURL); code != http.StatusOK || !bytes.Equal(got, png) {
		t.Errorf("the signed link served %d with %d bytes, want 200 with the photo's %d", code, len(got), len(png))
	}
	if code, _ := d.fetch(t, im.PreviewImageURL); code != http.StatusOK {
		t.Errorf("the preview link served %d, want 200", code)
	}
	bad := strings.Replace(im.OriginalContentURL, "sig=", "sig=0", 1)
	if code, _ := d.fetch(t, bad); code != http.StatusForbidden {
		t.Errorf("a bad signature served %d, want 403", code)
	}
	other := strings.Replace(im.OriginalContentURL, img.ID, img.ID+"X", 1)
	if code, _ := d.fetch(t, other); code != http.StatusForbidden {
		t.Errorf("a link with another id served %d, want 403", code)
	}
	key := sha256.Sum256([]byte("giftdesk media links\x00" + testSecret))
	past, _ := bot.NewMediaLinks(publicURL, key[:], time.Hour, func() time.Time { return time.Now().Add(-2 * time.Hour) })
	if code, _ := d.fetch(t, past.URL(img.ID)); code != http.StatusGone {
		t.Errorf("an expired link served %d, want 410", code)
	}

	pdf := slack.AddFile(slacktest.File{Name: "手順.pdf", Mimetype: "application/pdf", Content: []byte("%PDF-1.4 steps")})
	body, _ = slack.FileShareEvent(root.Channel, "UALICE", "", root.TS, pdf)
	if code := d.slackPost("/slack/events", "application/json", body, 0); code != http.StatusOK {
		t.Fatalf("file_share event answered %d", code)
	}
	seen++
	msgs = d.delivered(customer, seen)
	text := msgs[len(msgs)-1].Text
	wantIn(t, "agent's PDF", text, "担当者からファイルが届きました: 手順.pdf", publicURL+"/media/"+pdf.ID+"?")
	link := text[strings.Index(text, publicURL):]
	code, got, h := d.fetchHeader(t, link)
	if code != http.StatusOK || string(got) != "%PDF-1.4 steps" {
		t.Errorf("the PDF's link served %d %q", code, got)
	}
	if !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("the PDF was served with %v, want a sandboxed download", h)
	}
}

// TestMediaHandoffSeveralFiles: an agent's message with words and seven files (photos
// and PDFs mixed) reaches the LINE customer whole: the words, then one message per file,
// in the agent's order, each once, pushed in calls of at most five messages.
func TestMediaHandoffSeveralFiles(t *testing.T) {
	d, root, customer := handedOff(t, map[string]string{"GIFTDESK_PUBLIC_URL": publicURL})
	fake, slack := d.fake, d.slack
	seen := len(fake.Delivered(customer))
	pushes := len(fake.Pushes())
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte("p"), 200)...)
	var files []slacktest.File
	for i := range 7 {
		f := slacktest.File{Name: fmt.Sprintf("page-%d.pdf", i+1), Mimetype: "application/pdf", Content: []byte("%PDF-1.4 ")}
		if i%3 == 0 {
			f = slacktest.File{Name: fmt.Sprintf("screen-%d.png", i+1), Mimetype: "image/png", Content: png}
		}
		files = append(files, slack.AddFile(f))
	}
	body, msg := slack.FileShareEvent(root.Channel, "UALICE", "資料をお送りします", root.TS, files...)
	if code := d.slackPost("/slack/events", "application/json", body, 0); code != http.StatusOK {
		t.Fatalf("file_share event answered %d", code)
	}
	if _, err := slack.WaitReaction(waitCtx(t), msg.Channel, msg.TS); err != nil {
		t.Errorf("no receipt on the agent's message: %v", err)
	}
	d.waitDrained()
	msgs := fake.Delivered(customer)[seen:]
	if len(msgs) != 1+len(files) {
		t.Fatalf("the customer got %d messages, want the words and %d files:\n%s", len(msgs), len(files), texts(msgs))
	}
	wantIn(t, "agent's words", msgs[0].Text, "資料をお送りします")
	for i, f := range files {
		m := msgs[1+i]
		if strings.HasSuffix(f.Name, ".png") {
			var raw map[string]string
			_ = json.Unmarshal(m.Raw, &raw)
			if m.Type != "image" || !strings.HasPrefix(raw["originalContentUrl"], publicURL+"/media/"+f.ID+"?") {
				t.Errorf("file %d (%s) reached the customer as %s %s", i+1, f.Name, m.Type, m.Raw)
			}
			continue
		}
		wantIn(t, fmt.Sprintf("file %d", i+1), m.Text, "担当者からファイルが届きました: "+f.Name, publicURL+"/media/"+f.ID+"?")
	}
	calls := fake.Pushes()[pushes:]
	keys := map[string]bool{}
	for _, p := range calls {
		if len(p.Messages) > 5 {
			t.Errorf("a push of %d messages", len(p.Messages))
		}
		if keys[p.RetryKey] {
			t.Errorf("two pushes with retry key %s", p.RetryKey)
		}
		keys[p.RetryKey] = true
	}
	if len(calls) != 2 {
		t.Errorf("%d pushes, want 2 (5 messages and 3)", len(calls))
	}
	if errs := fake.Errors(); len(errs) > 0 {
		t.Errorf("LINE refused calls: %v", errs)
	}
}

// delivered waits until the user has seen n messages in all.
func (s *lineServer) delivered(user string, n int) []linetest.Message {
	s.t.Helper()
	msgs, err := s.fake.WaitDelivered(waitCtx(s.t), user, n)
	if err != nil {
		s.t.Fatalf("waiting for %d messages to %s: %v (have %d)", n, user, err, len(s.fake.Delivered(user)))
	}
	return msgs
}

// fetch GETs a link to giftdesk's public URL from the test's server instead.
func (d *desk) fetch(t *testing.T, link string) (int, []byte) {
	t.Helper()
	code, body, _ := d.fetchHeader(t, link)
	return code, body
}

// fetchHeader is fetch with the answer's header.
func (d *desk) fetchHeader(t *testing.T, link string) (int, []byte, http.Header) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("link %q: %v", link, err)
	}
	res, err := http.Get(d.url + u.RequestURI())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b, res.Header
}

// TestMediaHandoffWithoutPublicURL: without GIFTDESK_PUBLIC_URL an agent's file does not
// reach the customer, and the thread says why.
func TestMediaHandoffWithoutPublicURL(t *testing.T) {
	d, root, customer := handedOff(t, nil)
	f := d.slack.AddFile(slacktest.File{Name: "guide.png", Mimetype: "image/png", Content: []byte("\x89PNG")})
	body, msg := d.slack.FileShareEvent(root.Channel, "UALICE", "", root.TS, f)
	if code := d.slackPost("/slack/events", "application/json", body, 0); code != http.StatusOK {
		t.Fatalf("file_share event answered %d", code)
	}
	threadSays(t, d.slack, root, "GIFTDESK_PUBLIC_URL")
	m, err := d.slack.WaitReaction(waitCtx(t), msg.Channel, msg.TS)
	if err != nil || len(m.Reactions) == 0 || m.Reactions[0] != "no_entry_sign" {
		t.Errorf("agent's file reactions %v (%v), want no_entry_sign", m.Reactions, err)
	}
	d.waitDrained()
	for _, m := range d.fake.Delivered(customer) {
		if m.Type == "image" || strings.Contains(m.Text, "/media/") {
			t.Errorf("the customer got the file: %s", m.Raw)
		}
	}
}

// TestMediaOutsideHandoff: outside a hand-off a photo gets the request to type the code
// and the steps for a code that cannot be read; a voice message a short answer with the
// question asked again.
func TestMediaOutsideHandoff(t *testing.T) {
	fake := linetest.New(t, linetest.Config{})
	s := startServe(t, fake, filepath.Join(t.TempDir(), "giftdesk.db"), nil)
	user := "U" + strings.Repeat("p", 32)
	fake.SetProfile(user, linetest.Profile{DisplayName: "Pat", Language: "ja"})
	msgs := s.say(user, s.mediaEvent(user, map[string]any{"type": "image", "contentProvider": map[string]any{"type": "line"}}), 1)
	got := texts(msgs)
	wantIn(t, "answer to a photo", got, "文字で入力してください", "[番号が読めない]")
	if strings.Contains(got, "読み取れませんでした。選択肢") {
		t.Errorf("a photo was answered as not understood:\n%s", got)
	}
	msgs = s.say(user, s.postbackEvent(user, quick(t, msgs, "番号が読めない")), len(msgs)+1)
	wantIn(t, "after 番号が読めない", texts(msgs), "[flex] 番号が読めない場合")

	en := "U" + strings.Repeat("q", 32)
	fake.SetProfile(en, linetest.Profile{DisplayName: "Sam", Language: "en"})
	if code := s.post(s.textEvent(en, "hi, my gift card doesn't work")); code != http.StatusOK {
		t.Fatalf("webhook answered %d", code)
	}
	s.waitDrained()
	msgs = fake.Delivered(en)
	n := len(msgs)
	msgs = s.say(en, s.mediaEvent(en, map[string]any{"type": "audio", "duration": 3000, "contentProvider": map[string]any{"type": "line"}}), n+2)
	wantIn(t, "answer to a voice message", texts(msgs[n:]), "I can't look at voice messages here", msgs[n-1].Text)
}

func TestMediaConfig(t *testing.T) {
	line := map[string]string{"LINE_CHANNEL_SECRET": "a", "LINE_CHANNEL_ACCESS_TOKEN": "b"}
	tests := []struct {
		name  string
		env   map[string]string
		want  string // in the error; empty for none
		check func(mediaConfig) bool
	}{
		{name: "defaults", check: func(c mediaConfig) bool {
			return c.PublicURL == "" && c.LinkTTL == 7*24*time.Hour && c.Limits.MaxBytes == 0 && c.Limits.Kinds == nil &&
				c.LineData == "https://api-data.line.me" && len(c.Key) == 32
		}},
		{name: "public URL", env: map[string]string{"GIFTDESK_PUBLIC_URL": "https://giftdesk.example.com/"},
			check: func(c mediaConfig) bool { return c.PublicURL == "https://giftdesk.example.com" }},
		{name: "local http", env: map[string]string{"GIFTDESK_PUBLIC_URL": "http://127.0.0.1:8080"},
			check: func(c mediaConfig) bool { return c.PublicURL == "http://127.0.0.1:8080" }},
		{name: "public http", env: map[string]string{"GIFTDESK_PUBLIC_URL": "http://giftdesk.example.com"}, want: "GIFTDESK_PUBLIC_URL"},
		{name: "no scheme", env: map[string]string{"GIFTDESK_PUBLIC_URL": "giftdesk.example.com"}, want: "GIFTDESK_PUBLIC_URL"},
		{name: "key", env: map[string]string{"GIFTDESK_MEDIA_KEY": "a key of twenty chars"},
			check: func(c mediaConfig) bool { return string(c.Key) == "a key of twenty chars" }},
		{name: "short key", env: map[string]string{"GIFTDESK_MEDIA_KEY": "short"}, want: "GIFTDESK_MEDIA_KEY"},
		{name: "size", env: map[string]string{"GIFTDESK_MEDIA_MAX_BYTES": "20MiB"},
			check: func(c mediaConfig) bool { return c.Limits.MaxBytes == 20<<20 }},
		{name: "size too large", env: map[string]string{"GIFTDESK_MEDIA_MAX_BYTES": "2GiB"}, want: "GIFTDESK_MEDIA_MAX_BYTES"},
		{name: "kinds", env: map[string]string{"GIFTDESK_MEDIA_KINDS": "image, file"},
			check: func(c mediaConfig) bool { return len(c.Limits.Kinds) == 2 && c.Limits.Kinds[1] == bot.MediaFile }},
		{name: "no kinds", env: map[string]string{"GIFTDESK_MEDIA_KINDS": "none"},
			check: func(c mediaConfig) bool { return c.Limits.Kinds != nil && len(c.Limits.Kinds) == 0 }},
		{name: "unknown kind", env: map[string]string{"GIFTDESK_MEDIA_KINDS": "image,sticker"}, want: "GIFTDESK_MEDIA_KINDS"},
		{name: "link lifetime", env: map[string]string{"GIFTDESK_MEDIA_LINK_TTL": "30s"}, want: "GIFTDESK_MEDIA_LINK_TTL"},
		{name: "data host", env: map[string]string{"LINE_API_DATA_BASE_URL": "ftp://x"}, want: "LINE_API_DATA_BASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadServeConfig(func(k string) string {
				if v, ok := tt.env[k]; ok {
					return v
				}
				return line[k]
			})
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one containing %q", err, tt.want)
			case tt.check != nil && !tt.check(c.Media):
				t.Errorf("config %+v", c.Media)
			}
		})
	}
}
