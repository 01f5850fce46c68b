package line

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/giftdesk/giftdesk/bot"
)

// Media. A photo, video, voice message, file, sticker or location becomes a bot.InMedia
// with a reference to the message (its id, and what the webhook tells: a file's name and
// size, a sticker's keywords, a location's title and address). The content is read
// later, by the channel that relays it, through OpenMedia: GET
// /v2/bot/message/{id}/content on LINE's data host (Config.DataAPIBaseURL). An agent's file
// for the customer (bot.MsgMedia) is sent as an image message when it is a JPEG or PNG
// LINE accepts, or as a text with a link otherwise; the links are signed and expire
// (Config.MediaLinks).

// wireMedia is what a webhook's message event says of media, beside its type (see
// linehook.ImageMessageContent, FileMessageContent, StickerMessageContent,
// LocationMessageContent).
type wireMedia struct {
	ID        string   `json:"id"`
	FileName  string   `json:"fileName"`
	FileSize  int64    `json:"fileSize"`
	Keywords  []string `json:"keywords"`
	Title     string   `json:"title"`
	Address   string   `json:"address"`
	Latitude  float64  `json:"latitude"`
	Longitude float64  `json:"longitude"`
	// ContentProvider says where the content is: "line" (the content API) or "external"
	// (a URL of another provider, which giftdesk does not fetch).
	ContentProvider *struct {
		Type string `json:"type"`
	} `json:"contentProvider"`
}

// maxStickerKeywords bounds the keywords kept of a sticker.
const maxStickerKeywords = 3

// mediaInbound converts a message event that is not text. Types giftdesk does not know
// become empty text, which the bot answers by asking again.
func mediaInbound(typ string, m *wireMedia) bot.Inbound {
	md := bot.Media{Channel: Name, ID: m.ID}
	switch typ {
	case "image":
		md.Kind = bot.MediaImage
	case "video":
		md.Kind = bot.MediaVideo
	case "audio":
		md.Kind = bot.MediaAudio
	case "file":
		md.Kind, md.Name, md.Size = bot.MediaFile, m.FileName, m.FileSize
	case "sticker":
		md.Kind = bot.MediaSticker
		md.Text = strings.Join(m.Keywords[:min(len(m.Keywords), maxStickerKeywords)], ", ")
	case "location":
		md.Kind = bot.MediaLocation
		md.Text = strings.TrimSpace(strings.Join(nonEmpty(m.Title, m.Address), " "))
		if md.Text == "" {
			md.Text = strconv.FormatFloat(m.Latitude, 'f', 5, 64) + ", " + strconv.FormatFloat(m.Longitude, 'f', 5, 64)
		}
	default:
		return bot.Inbound{Kind: bot.InText}
	}
	if m.ContentProvider != nil && m.ContentProvider.Type == "external" {
		md.ID = "" // not on LINE's content API: nothing to fetch
	}
	return bot.Inbound{Kind: bot.InMedia, Media: &md}
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

var _ bot.MediaOpener = (*Channel)(nil)

// OpenMedia reads the content of a message a customer sent, from LINE's content API.
// The caller closes the body. A message LINE no longer has (404, 410: content is kept
// for a limited time), or media without content on LINE, is a permanent
// *bot.DeliveryError; others are classified as Send's.
func (c *Channel) OpenMedia(ctx context.Context, m bot.Media) (*bot.MediaContent, error) {
	if m.Channel != Name || m.ID == "" || strings.Trim(m.ID, "0123456789") != "" {
		return nil, &bot.DeliveryError{Permanent: true, Err: errors.New("content: no LINE message id")}
	}
	blob, err := messaging_api.NewMessagingApiBlobAPI(c.cfg.AccessToken,
		messaging_api.WithBlobEndpoint(c.cfg.DataAPIBaseURL), messaging_api.WithBlobHTTPClient(c.cfg.MediaHTTPClient))
	if err != nil {
		return nil, &bot.DeliveryError{Permanent: true, Err: fmt.Errorf("content: %w", err)}
	}
	res, _, err := blob.WithContext(ctx).GetMessageContentWithHttpInfo(m.ID)
	if err != nil {
		if res != nil && res.Body != nil {
			res.Body.Close()
		}
		return nil, deliveryError("content", res, err)
	}
	if res.StatusCode != http.StatusOK {
		// 202: a video or voice message still being prepared. Later.
		res.Body.Close()
		return nil, &bot.DeliveryError{Err: fmt.Errorf("content: LINE answered %d", res.StatusCode)}
	}
	typ, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	return &bot.MediaContent{Body: res.Body, Size: res.ContentLength, Type: typ}, nil
}

// LINE's limits on an image message: JPEG or PNG, at most 10 MB (the preview 1 MB).
const maxImageBytes = 10 << 20

// hasMedia reports whether msgs hold a bot.MsgMedia.
func hasMedia(msgs []bot.Message) bool {
	for _, m := range msgs {
		if m.Kind == bot.MsgMedia {
			return true
		}
	}
	return false
}

// renderWithMedia is render for a batch with bot.MsgMedia in it: each is an image
// message or a text with a link, signed now (so never cached); without
// Config.MediaLinks, a text naming the file. The other messages render as usual.
func (c *Channel) renderWithMedia(msgs []bot.Message) []messaging_api.MessageInterface {
	var out []messaging_api.MessageInterface
	var run []bot.Message
	flush := func() {
		out = append(out, render(run)...)
		run = nil
	}
	for _, m := range msgs {
		if m.Kind != bot.MsgMedia || m.Media == nil {
			run = append(run, m)
			continue
		}
		flush()
		out = append(out, c.mediaMessage(m))
	}
	flush()
	return out
}

// mediaMessage renders one agent's file for the customer.
func (c *Channel) mediaMessage(m bot.Message) messaging_api.MessageInterface {
	md := m.Media
	links := c.cfg.MediaLinks
	if links == nil || md.ID == "" {
		return &messaging_api.TextMessage{Text: orText(m.Text, md.Name)}
	}
	if md.Kind == bot.MediaImage && (md.Type == "image/jpeg" || md.Type == "image/png") && md.Size > 0 && md.Size <= maxImageBytes {
		return &messaging_api.ImageMessage{
			OriginalContentUrl: links.URL(md.ID),
			PreviewImageUrl:    links.URL(md.ID + bot.MediaPreview),
		}
	}
	return &messaging_api.TextMessage{Text: orText(m.Text, md.Name) + "\n" + links.URL(md.ID)}
}

func orText(s, alt string) string {
	if s == "" {
		s = alt
	}
	if s == "" {
		s = "📎"
	}
	return truncateRunes(s, 1000)
}
