package bot

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Media in conversations. A photo, a video, a voice message, a file, a sticker or a
// location a customer sends is an InMedia event carrying a Media: a reference to the
// content on its channel (a LINE message id), never the bytes. While the conversation is
// handed off, the desk relays a photo, video, audio or file to the ticket's thread as a
// MsgMedia, within MediaLimits, and turns a sticker or a location into a short text line;
// the customer is told it was received. The agents' channel fetches the content from the
// customer's channel when it delivers the row (a MediaOpener), so the outbox holds only
// the reference. An agent's file in the thread comes as an InAgentText with Media (a
// Slack file id) and reaches the customer as a MsgMedia, which the customer's channel
// renders with a link signed by MediaLinks; a message with several files carries the
// first in Media and the others in MoreMedia, and each becomes a MsgMedia of its own, in
// the agent's order. Outside a hand-off the bot cannot read a photo: it asks for the code
// as text, and offers the steps for a code that cannot be read.

// MediaKind says what a Media is.
type MediaKind string

// The media kinds.
const (
	MediaImage    MediaKind = "image"
	MediaVideo    MediaKind = "video"
	MediaAudio    MediaKind = "audio"
	MediaFile     MediaKind = "file"
	MediaSticker  MediaKind = "sticker"
	MediaLocation MediaKind = "location"
)

// carried reports whether media of kind k have content to carry (rather than a line of
// text: a sticker, a location).
func (k MediaKind) carried() bool {
	return k == MediaImage || k == MediaVideo || k == MediaAudio || k == MediaFile
}

// Media is a channel-neutral reference to media someone sent: what it is and where its
// content lives. It never holds the content.
type Media struct {
	Kind MediaKind `json:"kind"`
	// Channel is where the content lives ("line", "slack") and ID the channel's id of it
	// (a LINE message id, a Slack file id).
	Channel string `json:"channel"`
	ID      string `json:"id,omitempty"`
	// Name is the file name, when the channel tells one; Size the size in bytes, 0 when
	// unknown; Type the MIME type, when known.
	Name string `json:"name,omitempty"`
	Size int64  `json:"size,omitempty"`
	Type string `json:"type,omitempty"`
	// Text describes a sticker (its keywords) or a location (its title and address).
	Text string `json:"text,omitempty"`
}

// MediaContent is the content of a Media being read. The reader closes Body.
type MediaContent struct {
	Body io.ReadCloser
	// Size is the length in bytes, -1 when the channel did not say.
	Size int64
	// Type is the MIME type the channel gave, if any.
	Type string
}

// MediaOpener is a channel whose media content another channel can read: the agents'
// channel reads a customer's photo from the customer's channel when it delivers the
// relay. Failures are *DeliveryError, so that a delivery can tell a temporary one from a
// permanent one (the content is gone).
type MediaOpener interface {
	OpenMedia(ctx context.Context, m Media) (*MediaContent, error)
}

// MediaLimits are what the desk relays of a customer's media to the agents, and what the
// agents' channel carries. The zero value means the defaults.
type MediaLimits struct {
	// MaxBytes is the largest content relayed; default 10 MiB.
	MaxBytes int64
	// Kinds are the kinds relayed as files; default image, video, audio and file.
	Kinds []MediaKind
	// Blocked are file name extensions never relayed (lower case, without the dot);
	// default executables and scripts (exe, bat, cmd, com, scr, msi, apk, js, vbs, ps1,
	// jar, sh, dll).
	Blocked []string
}

// DefaultMediaMaxBytes is MediaLimits.MaxBytes's default.
const DefaultMediaMaxBytes = 10 << 20

var (
	defaultMediaKinds   = []MediaKind{MediaImage, MediaVideo, MediaAudio, MediaFile}
	defaultMediaBlocked = []string{"exe", "bat", "cmd", "com", "scr", "msi", "apk", "js", "vbs", "ps1", "jar", "sh", "dll"}
)

// WithDefaults returns l with each zero field set to its default.
func (l MediaLimits) WithDefaults() MediaLimits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMediaMaxBytes
	}
	if l.Kinds == nil {
		l.Kinds = defaultMediaKinds
	}
	if l.Blocked == nil {
		l.Blocked = defaultMediaBlocked
	}
	return l
}

// Refusals of MediaLimits.Check.
const (
	MediaTooLarge = "too_large"
	MediaBlocked  = "blocked"
)

// Check says why m cannot be relayed ("" when it can), from what is known of it: its
// kind, its file name and its size (0: unknown, checked again when the content is read).
func (l MediaLimits) Check(m Media) string {
	l = l.WithDefaults()
	if !slices.Contains(l.Kinds, m.Kind) {
		return MediaBlocked
	}
	// Windows drops trailing dots and spaces from a name: "setup.exe." saved is setup.exe.
	name := strings.TrimRight(m.Name, ". ")
	if ext := strings.TrimPrefix(strings.ToLower(path.Ext(name)), "."); ext != "" && slices.Contains(l.Blocked, ext) {
		return MediaBlocked
	}
	if m.Size > l.MaxBytes {
		return MediaTooLarge
	}
	return ""
}

// postbackUnreadable is the choice offered with the answer to a photo: the code cannot
// be read, show the steps for that (DeskConfig.UnreadableNode).
const postbackUnreadable = "m:unreadable"

// mediaTexts are the desk's texts about media.
var mediaTexts = struct {
	Received, ReceivedMany, TooLarge, Blocked, Photo, PhotoButton, Other, Sticker Text
	// For agents (in DeskConfig.AgentLang).
	Kind                                                             map[MediaKind]Text
	ThreadRefused, ThreadSticker, ThreadLocation, NoLinks, AgentFile Text
}{
	Received: Text{JA: "%sを担当者に送りました。", EN: "I've passed your %s on to the team."},
	TooLarge: Text{
		JA: "申し訳ありません、%sが大きすぎるため担当者に送れませんでした(上限 %s)。小さくしてお送りいただくか、内容を文章でお書きください。",
		EN: "Sorry, your %s is too large to pass on to the team (limit %s). Please send a smaller one, or describe it in words.",
	},
	Blocked: Text{
		JA: "申し訳ありません、この種類の%sは担当者に送れません。内容を文章でお書きください。",
		EN: "Sorry, this kind of %s can't be passed on to the team. Please describe it in words.",
	},
	Photo: Text{
		JA: "画像ありがとうございます。画像の中の番号は読み取れないため、ギフト券番号は文字で入力してください。番号が削れたりかすれたりして読めない場合は「番号が読めない」をタップしてください。",
		EN: "Thanks for the picture. I can't read codes in images, so please type the gift card code as text. If the code is scratched off or can't be read, tap \"Can't read the code\".",
	},
	PhotoButton: Text{JA: "番号が読めない", EN: "Can't read the code"},
	Other: Text{
		JA: "ありがとうございます。申し訳ありませんが、こちらでは%sの内容を確認できません。お困りごとを文章でお書きください。",
		EN: "Thank you. Sorry, I can't look at %ss here: please describe the problem in words.",
	},
	Sticker: Text{
		JA: "スタンプありがとうございます!お困りごとがあれば、文章でお書きください。",
		EN: "Thanks for the sticker! If something's wrong, just tell me in words.",
	},
	Kind: map[MediaKind]Text{
		MediaImage:    {JA: "画像", EN: "photo"},
		MediaVideo:    {JA: "動画", EN: "video"},
		MediaAudio:    {JA: "音声", EN: "voice message"},
		MediaFile:     {JA: "ファイル", EN: "file"},
		MediaSticker:  {JA: "スタンプ", EN: "sticker"},
		MediaLocation: {JA: "位置情報", EN: "location"},
	},
	ThreadRefused: Text{
		JA: "お客様から%sが届きましたが、転送できませんでした(%s)。お客様には文章で伝えるようお願いしています。",
		EN: "The customer sent a %s that could not be carried here (%s); they were asked to describe it in words.",
	},
	ThreadSticker:  Text{JA: "[スタンプ] %s", EN: "[sticker] %s"},
	ThreadLocation: Text{JA: "[位置情報] %s", EN: "[location] %s"},
	NoLinks: Text{
		JA: "このファイルはお客様に送れません: giftdesk の公開URL (GIFTDESK_PUBLIC_URL) が設定されていません。内容を文章でお送りください。",
		EN: "This file cannot reach the customer: giftdesk's public URL (GIFTDESK_PUBLIC_URL) is not set. Please send its content as text.",
	},
	AgentFile: Text{JA: "担当者からファイルが届きました: %s", EN: "The team sent you a file: %s"},
}

// reasonText names a refusal for agents.
func reasonText(reason string, max int64, lang Lang) string {
	if reason == MediaTooLarge {
		return Text{JA: "サイズ上限 " + FormatBytes(max) + " 超", EN: "over the " + FormatBytes(max) + " limit"}.In(lang)
	}
	return Text{JA: "この種類は転送しない設定です", EN: "a type that is not carried"}.In(lang)
}

// FormatBytes writes a size for people: "10 MB", "1.5 MB", "512 KB".
func FormatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	case n >= 1<<10:
		return strconv.FormatInt(n>>10, 10) + " KB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// mediaLine is media as a transcript line: its kind and file name (masked: a name may
// hold a code), never its content.
func (s *step) mediaLine(m *Media) string {
	if m == nil {
		return "(media)"
	}
	if m.Name != "" {
		return "(" + string(m.Kind) + ": " + s.d.cfg.Redact(m.Name) + ")"
	}
	return "(" + string(m.Kind) + ")"
}

// relayMedia handles the customer's media while handed off: a photo, a video, a voice
// message or a file goes to the thread as a MsgMedia when the limits allow, with a line
// for the agents otherwise; a sticker or a location becomes a line of text. The
// customer is told what happened (not for a sticker).
func (s *step) relayMedia(in Inbound, name string) {
	t, lang, agents := s.c.Ticket, s.lang(), s.agentLang()
	m := in.Media
	if m == nil {
		return
	}
	kind := mediaTexts.Kind[m.Kind]
	switch {
	case m.Kind == MediaSticker:
		s.relay(t, name, fmt.Sprintf(mediaTexts.ThreadSticker.In(agents), orDash(m.Text)))
		return
	case m.Kind == MediaLocation:
		s.relay(t, name, fmt.Sprintf(mediaTexts.ThreadLocation.In(agents), orDash(s.d.cfg.Redact(m.Text))))
	case !m.Kind.carried():
		return
	default:
		limits := s.d.cfg.Media.WithDefaults()
		if why := limits.Check(*m); why != "" {
			s.toThread(t, Message{Kind: MsgText, Text: fmt.Sprintf(mediaTexts.ThreadRefused.In(agents),
				kind.In(agents), reasonText(why, limits.MaxBytes, agents))})
			if why == MediaTooLarge {
				s.tell(Message{Kind: MsgText, Text: fmt.Sprintf(mediaTexts.TooLarge.In(lang), kind.In(lang), FormatBytes(limits.MaxBytes))})
			} else {
				s.tell(Message{Kind: MsgText, Text: fmt.Sprintf(mediaTexts.Blocked.In(lang), kind.In(lang))})
			}
			return
		}
		if len(s.limits.Held) > 0 {
			s.flushHeld() // what was held came first
		}
		s.limits.Relays++
		md := *m
		s.toThread(t, Message{Kind: MsgMedia, From: name, Media: &md, Text: kind.In(agents)})
	}
	s.tell(Message{Kind: MsgText, Text: fmt.Sprintf(mediaTexts.Received.In(lang), kind.In(lang))})
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

// answerMedia answers media outside a hand-off: a photo gets the request to type the
// code and, when the flow has one, the choice of the steps for a code that cannot be
// read; a sticker a friendly word; anything else a short polite answer. The conversation
// stays where it was.
func (s *step) answerMedia(in Inbound) {
	c := s.c
	if c.Lang == "" {
		c.Lang = in.Lang
	}
	lang := s.lang()
	m := in.Media
	kind := MediaFile
	if m != nil {
		kind = m.Kind
	}
	switch kind {
	case MediaImage:
		msg := Message{Kind: MsgText, Text: mediaTexts.Photo.In(lang)}
		if s.d.cfg.UnreadableNode != "" {
			msg.Kind = MsgQuestion
			msg.Choices = []Choice{{Label: mediaTexts.PhotoButton.In(lang), Data: postbackUnreadable}}
		}
		s.tell(msg)
	case MediaSticker:
		s.tell(Message{Kind: MsgText, Text: mediaTexts.Sticker.In(lang)})
		s.tell(s.d.e.Prompt(c)...)
	default:
		s.tell(Message{Kind: MsgText, Text: fmt.Sprintf(mediaTexts.Other.In(lang), mediaTexts.Kind[kind].In(lang))})
		s.tell(s.d.e.Prompt(c)...)
	}
}

// unreadable shows the steps for a code that cannot be read: the flow's UnreadableNode,
// entered as a jump from wherever the conversation is.
func (s *step) unreadable() error {
	msgs, err := s.d.e.enterNode(s.ctx, s.c, s.d.cfg.UnreadableNode)
	if err != nil {
		return err
	}
	s.tell(msgs...)
	return nil
}

// enterNode moves c to node id, as a jump, starting the conversation first when it has
// not started or has ended, and returns the node's messages.
func (e *Engine) enterNode(ctx context.Context, c *Conversation, id string) ([]Message, error) {
	if e.nodes[id] == nil {
		return nil, fmt.Errorf("enter node %q: no such node", id)
	}
	t := &turn{e: e, ctx: ctx, c: c, now: e.now()}
	if c.Node == "" || c.Status != StatusActive {
		t.reset(Inbound{})
	}
	c.FlowVersion = e.flow.Version
	return t.enter(id)
}

// HasNode reports whether the engine's flow has node id.
func (e *Engine) HasNode(id string) bool { return e.nodes[id] != nil }

// agentMedia relays an agent's files to the customer, in the agent's order after what
// the agent wrote with them (text): each as a MsgMedia when the customer's channel can
// link to it (DeskConfig.AgentMedia), with a note in the thread otherwise.
func (s *step) agentMedia(in Inbound, text string) {
	c, t := s.c, s.c.Ticket
	var msgs []Message
	if text != "" {
		msgs = append(msgs, Message{Kind: MsgText, Text: text, From: cmp.Or(in.AgentName, in.Agent, "agent")})
	}
	line := s.d.cfg.Redact(text)
	refused := false
	for _, m := range in.files() {
		if !s.d.cfg.AgentMedia || !m.Kind.carried() {
			refused = true
			continue
		}
		md := m
		name := md.Name
		if name == "" {
			name = mediaTexts.Kind[md.Kind].In(s.lang())
		}
		msgs = append(msgs, Message{Kind: MsgMedia, Media: &md, Text: fmt.Sprintf(mediaTexts.AgentFile.In(s.lang()), name)})
		line = strings.TrimSpace(line + " " + s.mediaLine(&md))
	}
	if refused {
		s.toThread(t, Message{Kind: MsgText, Text: mediaTexts.NoLinks.In(s.agentLang())})
	}
	if len(msgs) == 0 {
		s.toThread(t, Message{Kind: MsgReceipt, Text: ReceiptDropped, Ref: s.ev.ID})
		return
	}
	s.res.Transcript = append(s.res.Transcript, Line{At: s.now, Role: RoleAgent, Name: in.AgentName, Text: line})
	s.res.Out = append(s.res.Out, &Outgoing{Channel: c.Key.Channel, Address: c.Address, Messages: msgs})
	s.toThread(t, Message{Kind: MsgReceipt, Text: ReceiptSent, Ref: s.ev.ID})
}

// MediaLinks signs and checks the expiring links by which giftdesk hands out an agent's
// file to a customer's channel: Base + "/media/<id>?exp=<unix seconds>&sig=<hex
// HMAC-SHA256 of id and exp>". It is safe for concurrent use.
type MediaLinks struct {
	base string
	key  []byte
	ttl  time.Duration
	now  func() time.Time
}

// MediaPath is the path under which links are served; the id follows.
const MediaPath = "/media/"

// MediaPreview, after a file's id in a link, names its preview: a small image of it.
const MediaPreview = "~preview"

// NewMediaLinks returns links under base (an http(s) URL, no trailing slash needed),
// signed with key (at least 16 bytes), valid for ttl (default 7 days).
func NewMediaLinks(base string, key []byte, ttl time.Duration, now func() time.Time) (*MediaLinks, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("media links: base must be an http(s) URL")
	}
	if len(key) < 16 {
		return nil, errors.New("media links: key must be at least 16 bytes")
	}
	if ttl <= 0 {
		ttl = 7 * 24 * time.Hour
	}
	if now == nil {
		now = time.Now
	}
	return &MediaLinks{base: strings.TrimSuffix(base, "/"), key: key, ttl: ttl, now: now}, nil
}

// URL returns a signed link to id, valid from now for the links' lifetime.
func (l *MediaLinks) URL(id string) string {
	exp := strconv.FormatInt(l.now().Add(l.ttl).Unix(), 10)
	return l.base + MediaPath + url.PathEscape(id) + "?exp=" + exp + "&sig=" + l.sign(id, exp)
}

func (l *MediaLinks) sign(id, exp string) string {
	h := hmac.New(sha256.New, l.key)
	h.Write([]byte("giftdesk media\x00" + id + "\x00" + exp))
	return hex.EncodeToString(h.Sum(nil))
}

// Errors of MediaLinks.Check.
var (
	ErrLinkSignature = errors.New("media link: bad signature")
	ErrLinkExpired   = errors.New("media link: expired")
)

// Check verifies a link's id, exp and sig: ErrLinkSignature when they were not signed
// together by these links, ErrLinkExpired when the link has expired.
func (l *MediaLinks) Check(id, exp, sig string) error {
	if !hmac.Equal([]byte(sig), []byte(l.sign(id, exp))) {
		return ErrLinkSignature
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return ErrLinkSignature
	}
	if !l.now().Before(time.Unix(n, 0)) {
		return ErrLinkExpired
	}
	return nil
}
