package slack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/giftdesk/giftdesk/bot"
)

// Media in ticket threads. A customer's photo, video, voice message or file relayed to a
// ticket's thread (bot.MsgMedia) is read from the customer's channel at delivery
// (Config.Media) and streamed into Slack's external upload: files.getUploadURLExternal
// with the length, the bytes posted to the URL it returns, files.completeUploadExternal
// sharing the file in the thread with "👤 name" as its comment. Content over
// Config.MediaLimits (its size as the customer's channel reports it, or as read when it
// does not), of a blocked type, or gone from the customer's channel is not uploaded: a
// line in the thread says so.
//
// Exactly once: a retry after a failed upload starts over with a new upload URL; a file
// uploaded but never completed is not shared, and Slack discards it. Completion is the
// one step that shows the file, and it has no idempotency key. So the channel remembers
// in memory the relays it completed (a retry of the same row by this process, after a
// later message of the row failed, does not share again), and every retry first reads
// the thread (conversations.replies) for a file titled after the customer's message (its
// name, or the id of the message): an attempt whose process died after completing, or
// whose completion timed out after Slack had done it, is not repeated. What remains: a
// retry that overlaps a still-running attempt (its lease ran out mid-upload) can share
// twice.

// maxRelaysRemembered bounds the completed relays remembered; beyond, it starts over.
const maxRelaysRemembered = 1000

// relayMedia uploads the media of m (the i-th message of d's row) to the thread at root.
func (c *Channel) relayMedia(ctx context.Context, d *delivery, channel, root string, i int, m bot.Message) error {
	out := d.out
	md := m.Media
	key := out.EventID + "/" + strconv.Itoa(out.Seq) + "/" + strconv.Itoa(i)
	if c.relayed(key) {
		return nil
	}
	what := m.Text
	if what == "" {
		what = string(md.Kind)
	}
	from := m.From
	if from == "" {
		from = "?"
	}
	cannot := func(why string) error {
		p := noticePost("", "📎 "+from+": "+what+" — "+why)
		p.id = "m" + strconv.Itoa(i) + ".media"
		if err := d.postThread(ctx, channel, root, []post{p}); err != nil {
			return err
		}
		c.setRelayed(key)
		return nil
	}
	if c.cfg.Media == nil || md.ID == "" {
		return cannot(mediaWords.unavailable)
	}
	content, err := c.cfg.Media.OpenMedia(ctx, *md)
	if err != nil {
		if bot.IsPermanent(err) {
			c.log.Warn("media for a ticket's thread", "conversation", out.Key.String(), "outgoing", out.ID, "err", err)
			return cannot(mediaWords.gone)
		}
		return err
	}
	defer content.Body.Close()
	limits := c.cfg.MediaLimits.WithDefaults()
	ref := *md
	if ref.Type == "" {
		ref.Type = content.Type
	}
	if content.Size > 0 {
		ref.Size = content.Size
	}
	if why := limits.Check(ref); why != "" {
		return cannot(refusal(why, limits.MaxBytes))
	}
	if ref.Name != "" {
		ref.Name = c.cfg.Redact(ref.Name) // the customer's file name may hold a code
	}
	ref.Name = fileName(ref)
	body, size := io.Reader(content.Body), content.Size
	if size < 0 {
		// No length given: read it, within the limit (Slack wants the length first).
		buf, err := io.ReadAll(io.LimitReader(content.Body, limits.MaxBytes+1))
		if err != nil {
			return &bot.DeliveryError{Err: fmt.Errorf("read media: %w", err)}
		}
		if int64(len(buf)) > limits.MaxBytes {
			return cannot(refusal(bot.MediaTooLarge, limits.MaxBytes))
		}
		body, size = bytes.NewReader(buf), int64(len(buf))
	}
	if size == 0 {
		return cannot(mediaWords.empty)
	}
	// The title names the customer's message, so that the thread tells whether it was
	// shared already.
	title := ref.Name
	if md.Name != "" {
		title += " · " + md.ID
	}
	if out.Attempts > 0 {
		// An earlier attempt may have shared the file: it died, or its completion timed
		// out after Slack had done it. The thread tells.
		shared, err := c.sharedInThread(ctx, channel, root, title)
		if err != nil {
			return err
		}
		if shared {
			c.setRelayed(key)
			return nil
		}
	}
	up, err := c.api.GetUploadURLExternalContext(ctx, slackapi.GetUploadURLExternalParameters{
		FileName: ref.Name, FileSize: int(size),
	})
	if err != nil {
		return apiError("files.getUploadURLExternal", err)
	}
	err = c.api.UploadToURL(ctx, slackapi.UploadToURLParameters{
		UploadURL: up.UploadURL, Reader: io.LimitReader(body, size), Filename: ref.Name,
	})
	if err != nil {
		return apiError("upload", err)
	}
	_, err = c.api.CompleteUploadExternalContext(ctx, slackapi.CompleteUploadExternalParameters{
		Files:   []slackapi.FileSummary{{ID: up.FileID, Title: title}},
		Channel: channel, ThreadTimestamp: root,
		InitialComment: "👤 " + escape(truncateRunes(from, maxTicketName)) + ": " + escape(what),
	})
	if err != nil {
		return apiError("files.completeUploadExternal", err)
	}
	c.setRelayed(key)
	return nil
}

// mediaWords are the thread's lines about media that cannot be carried, in the agents'
// language (Japanese, as the desk's notes).
var mediaWords = struct{ unavailable, gone, empty, tooLarge, blocked string }{
	unavailable: "ここには転送できません(取得元が設定されていません)",
	gone:        "取得できませんでした(保存期間切れか削除済み)",
	empty:       "中身が空でした",
	tooLarge:    "サイズ上限 %s を超えるため転送していません",
	blocked:     "転送しない種類のファイルです",
}

func refusal(why string, max int64) string {
	if why == bot.MediaTooLarge {
		return fmt.Sprintf(mediaWords.tooLarge, bot.FormatBytes(max))
	}
	return mediaWords.blocked
}

// fileName is the name a relayed file gets: its own, or the kind and id with the
// extension of its type ("line-image-123.jpg").
func fileName(m bot.Media) string {
	if m.Name != "" {
		return m.Name
	}
	ext := ""
	switch m.Type {
	case "image/jpeg":
		ext = ".jpg"
	case "video/mp4":
		ext = ".mp4"
	case "audio/m4a", "audio/x-m4a", "audio/mp4":
		ext = ".m4a"
	default:
		if exts, _ := mime.ExtensionsByType(m.Type); len(exts) > 0 {
			ext = exts[0]
		}
	}
	return m.Channel + "-" + string(m.Kind) + "-" + m.ID + ext
}

// maxReplyPages bounds the pages of a thread (or of a channel's history) read back.
const maxReplyPages = 20

// eachReply calls visit with the messages of the thread at root in channel, page by page
// (at most maxReplyPages), until visit returns true; with metadata, the messages carry
// their metadata (include_all_metadata).
func (c *Channel) eachReply(ctx context.Context, channel, root string, metadata bool, visit func(slackapi.Message) bool) error {
	cursor := ""
	for range maxReplyPages {
		msgs, more, next, err := c.api.GetConversationRepliesContext(ctx, &slackapi.GetConversationRepliesParameters{
			ChannelID: channel, Timestamp: root, Cursor: cursor, Limit: 200, IncludeAllMetadata: metadata,
		})
		if err != nil {
			return apiError("conversations.replies", err)
		}
		for _, m := range msgs {
			if visit(m) {
				return nil
			}
		}
		if !more || next == "" {
			return nil
		}
		cursor = next
	}
	return nil
}

// sharedInThread reports whether a file titled title was shared in the thread at root.
func (c *Channel) sharedInThread(ctx context.Context, channel, root, title string) (bool, error) {
	shared := false
	err := c.eachReply(ctx, channel, root, false, func(m slackapi.Message) bool {
		for _, f := range m.Files {
			if f.Title == title {
				shared = true
			}
		}
		return shared
	})
	return shared, err
}

func (c *Channel) relayed(key string) bool {
	c.handoffMu.Lock()
	defer c.handoffMu.Unlock()
	_, ok := c.uploads[key]
	return ok
}

func (c *Channel) setRelayed(key string) {
	c.handoffMu.Lock()
	defer c.handoffMu.Unlock()
	if c.uploads == nil || len(c.uploads) >= maxRelaysRemembered {
		c.uploads = map[string]struct{}{}
	}
	c.uploads[key] = struct{}{}
}

// agentFiles are the references to the files of an agent's message in a ticket's
// thread that can be fetched (not a file of another service, nor a post), in the message's
// order, as an InAgentText carries them: the first, nil when there is none, and the others.
func agentFiles(files []slackapi.File) (first *bot.Media, more *[]bot.Media) {
	var mds []bot.Media
	for _, f := range files {
		if f.ID == "" || f.IsExternal || (f.Mode != "" && f.Mode != "hosted") {
			continue
		}
		mds = append(mds, bot.Media{Kind: mediaKind(f.Mimetype), Channel: Name, ID: f.ID, Name: f.Name, Size: int64(f.Size), Type: f.Mimetype})
	}
	if len(mds) == 0 {
		return nil, nil
	}
	if len(mds) > 1 {
		rest := mds[1:]
		more = &rest
	}
	return &mds[0], more
}

func mediaKind(mimetype string) bot.MediaKind {
	switch {
	case strings.HasPrefix(mimetype, "image/"):
		return bot.MediaImage
	case strings.HasPrefix(mimetype, "video/"):
		return bot.MediaVideo
	case strings.HasPrefix(mimetype, "audio/"):
		return bot.MediaAudio
	}
	return bot.MediaFile
}
