package slack

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/giftdesk/giftdesk/bot"
)

// Hand-off tickets. A ticket is posted as the root of a thread in the team's channel;
// its buttons carry "t:<action>:<ticket id>", and the parts an update changes (the state
// and the buttons) have fixed block ids so that an update can keep everything else.
const (
	ticketValuePrefix  = "t:"
	ticketActionPrefix = "giftdesk-ticket-" // action_id of a ticket button
	blockTicketStatus  = "giftdesk-ticket-status"
	blockTicketActions = "giftdesk-ticket-actions"
)

// ticketActions are the ticket buttons' actions and the events they become.
var ticketActions = map[string]bot.InboundKind{
	"claim":   bot.InAgentClaim,
	"resolve": bot.InAgentResolve,
	"return":  bot.InAgentReturn,
}

// jst is Japan time, in which tickets show when they came in. Japan has no daylight
// saving time, so a fixed zone is exact and needs no time zone database.
var jst = time.FixedZone("JST", 9*60*60)

// Limits that keep a ticket well within a Slack message.
const (
	maxTicketLine  = 300 // characters of one path or transcript line
	maxTicketPath  = 30  // path lines shown (the last ones)
	maxTicketLines = 10  // transcript lines shown (the last ones)
	maxFieldText   = 2000
	maxTicketName  = 80 // characters of a name
)

// roleIcons mark who said a transcript line.
var roleIcons = map[bot.Role]string{
	bot.RoleCustomer: "👤",
	bot.RoleBot:      "🤖",
	bot.RoleAgent:    "🧑‍💼",
	bot.RoleNote:     "📝",
	bot.RoleSystem:   "⚙️",
}

// renderTicket renders a ticket as the root message of its thread: a header naming the
// customer, the state, the facts (customer, channel, language, when, reason, diagnosis),
// the out-of-hours note, the path through the flow, the last lines of the conversation
// and the buttons that apply in the ticket's state. All text from the card is escaped, so
// that nothing a customer typed can mention anyone; only the agent, a Slack user id, is
// shown as a mention.
func renderTicket(card *bot.TicketCard) post {
	name := truncateRunes(card.Customer, maxTicketName)
	head := "🎫 " + name + " (" + channelName(card.Channel) + ")"
	if card.Staff {
		head = "📋 " + name + " (" + channelName(card.Channel) + ")"
	}
	blocks := []slackapi.Block{
		slackapi.NewHeaderBlock(slackapi.NewTextBlockObject(slackapi.PlainTextType, truncateRunes(head, maxHeaderText), true, false)),
		ticketStatus(card),
	}
	fields := []*slackapi.TextBlockObject{
		field("お客様 / Customer", name),
		field("チャネル / Channel", channelName(card.Channel)),
		field("言語 / Language", langName(card.Lang)),
		field("受付 / Since", card.Since.In(jst).Format("2006-01-02 15:04 MST")),
		field("理由 / Reason", card.Reason),
	}
	if card.Diagnosis != "" && card.Diagnosis != card.Reason {
		fields = append(fields, field("診断 / Diagnosis", card.Diagnosis))
	}
	fields = append(fields, field("チケット / Ticket", card.ID))
	blocks = append(blocks, slackapi.NewSectionBlock(nil, fields, nil))
	if card.OutOfHours != "" {
		blocks = append(blocks, slackapi.NewContextBlock("", mrkdwn("🌙 営業時間外の受付です。次の営業開始: "+card.OutOfHours)))
	}
	if card.Staff {
		blocks = append(blocks, slackapi.NewContextBlock("", mrkdwn("スタッフの診断から投稿されたチケットです。お客様への中継はありません。")))
	}
	if len(card.Path) > 0 {
		lines := make([]string, 0, len(card.Path))
		for _, l := range card.Path[max(0, len(card.Path)-maxTicketPath):] {
			lines = append(lines, "• "+escape(truncateRunes(l, maxTicketLine)))
		}
		blocks = append(blocks, titled("診断の経路 / Path", lines)...)
	}
	if len(card.Recent) > 0 {
		lines := make([]string, 0, len(card.Recent))
		for _, l := range card.Recent[max(0, len(card.Recent)-maxTicketLines):] {
			lines = append(lines, transcriptLine(l))
		}
		blocks = append(blocks, titled("直近のやりとり / Recent", lines)...)
	}
	if a := ticketButtons(card); a != nil {
		blocks = append(blocks, a)
	}
	return post{blocks: blocks, text: ticketText(card)}
}

// updatedTicket renders the ticket's root after an update: the blocks the root has now
// (old, as fetched from Slack) with the state replaced and the buttons that still apply.
// The update's card carries the state, not the path or the transcript, which are kept
// from old. Without old blocks (the root could not be read), the card alone is rendered.
func updatedTicket(old []slackapi.Block, card *bot.TicketCard) post {
	fresh := renderTicket(card)
	var (
		out   []slackapi.Block
		found bool
	)
	for _, b := range old {
		switch b.ID() {
		case blockTicketStatus:
			out = append(out, ticketStatus(card))
			found = true
		case blockTicketActions: // added back below, if any still apply
		default:
			out = append(out, b)
		}
	}
	if !found {
		return fresh
	}
	if a := ticketButtons(card); a != nil {
		out = append(out, a)
	}
	return post{blocks: out, text: fresh.text}
}

// ticketText is a ticket's notification text.
func ticketText(card *bot.TicketCard) string {
	why := card.Diagnosis
	if why == "" {
		why = card.Reason
	}
	s := "🎫 " + truncateRunes(card.Customer, maxTicketName) + " (" + channelName(card.Channel) + "): " + why + " — " + stateName(card.State)
	return escape(truncateRunes(s, maxFallbackText))
}

// ticketStatus is the block that says where the ticket stands: its state, who has it,
// the rating and the closing note.
func ticketStatus(card *bot.TicketCard) slackapi.Block {
	var icon string
	switch card.State {
	case bot.TicketWaiting:
		icon = "🟡"
	case bot.TicketClaimed:
		icon = "🟢"
	case bot.TicketResolved:
		icon = "🔵"
	default:
		icon = "⚪"
	}
	s := icon + " *" + stateName(card.State) + "*"
	if card.Staff {
		s = "📋 *スタッフの診断 / Staff diagnosis*"
	}
	if validID(card.Agent) {
		s += " — <@" + card.Agent + ">"
	}
	if card.Rating >= 1 && card.Rating <= 5 {
		s += " · " + strings.Repeat("★", card.Rating) + strings.Repeat("☆", 5-card.Rating)
	}
	if card.Note != "" {
		s += "\n" + notice(truncateRunes(card.Note, maxTicketLine))
	}
	return slackapi.NewSectionBlock(
		slackapi.NewTextBlockObject(slackapi.MarkdownType, s, false, true), nil, nil,
		slackapi.SectionBlockOptionBlockID(blockTicketStatus))
}

// ticketButtons returns the buttons that apply in the ticket's state, or nil for none: a
// waiting ticket may be claimed, resolved or returned to the bot; a claimed one resolved
// or returned; both take internal notes (a form, see openNote). Resolving and returning ask for confirmation: both reach the customer.
func ticketButtons(card *bot.TicketCard) *slackapi.ActionBlock {
	if card.Staff {
		return nil
	}
	var actions []string
	switch card.State {
	case bot.TicketWaiting:
		actions = []string{"claim", "resolve", "return", noteOpenAction}
	case bot.TicketClaimed:
		actions = []string{"resolve", "return", noteOpenAction}
	default:
		return nil
	}
	labels := map[string]string{"claim": "✋ 担当する (Claim)", "resolve": "✅ 解決 (Resolve)", "return": "↩️ ボットに戻す (Return to bot)",
		noteOpenAction: "📝 社内メモ (Internal note)"}
	confirms := map[string][2]string{
		"resolve": {"解決済みにしますか?", "お客様に完了のお知らせと評価のお願いが送られます。"},
		"return":  {"ボットに戻しますか?", "お客様は自動案内に戻ります。"},
	}
	plain := func(s string) *slackapi.TextBlockObject {
		return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, true, false)
	}
	var elems []slackapi.BlockElement
	for i, a := range actions {
		b := slackapi.NewButtonBlockElement(ticketActionPrefix+a, ticketValuePrefix+a+":"+card.ID, plain(labels[a]))
		if i == 0 {
			b = b.WithStyle(slackapi.StylePrimary)
		}
		if c, ok := confirms[a]; ok {
			b = b.WithConfirm(slackapi.NewConfirmationBlockObject(plain(c[0]), plain(c[1]), plain("はい"), plain("キャンセル")))
		}
		elems = append(elems, b)
	}
	return slackapi.NewActionBlock(blockTicketActions, elems...)
}

// parseTicketValue reads a ticket button's value, "t:<action>:<ticket id>".
func parseTicketValue(v string) (action, id string, ok bool) {
	rest, ok := strings.CutPrefix(v, ticketValuePrefix)
	if !ok {
		return "", "", false
	}
	action, id, ok = strings.Cut(rest, ":")
	return action, id, ok && action != "" && id != ""
}

// relay renders a customer's message relayed to the ticket's thread: "👤 *name*: text".
func relay(from, text string) post {
	from = truncateRunes(from, maxTicketName)
	prefix := "👤 *" + escape(from) + "*: "
	var blocks []slackapi.Block
	for i, chunk := range splitText(text, maxSectionText-len(prefix)) {
		s := escape(chunk)
		if i == 0 {
			s = prefix + s
		}
		blocks = append(blocks, slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, s, false, true), nil, nil))
	}
	if len(blocks) == 0 {
		return post{}
	}
	if len(blocks) > maxBlocks {
		blocks = blocks[:maxBlocks]
	}
	return post{blocks: blocks, text: escape(truncateRunes("👤 "+from+": "+text, maxFallbackText))}
}

// noticePost renders the desk's own words in a ticket's thread (a note, "already
// claimed"), where the agents it names are mentioned.
func noticePost(icon, text string) post {
	var blocks []slackapi.Block
	for _, chunk := range splitText(text, maxSectionText-200) {
		blocks = append(blocks, slackapi.NewSectionBlock(
			slackapi.NewTextBlockObject(slackapi.MarkdownType, strings.TrimSpace(icon+" "+notice(chunk)), false, true), nil, nil))
	}
	if len(blocks) == 0 {
		return post{}
	}
	if len(blocks) > maxBlocks {
		blocks = blocks[:maxBlocks]
	}
	return post{blocks: blocks, text: notice(truncateRunes(text, maxFallbackText))}
}

// userMention matches an escaped user mention, "&lt;@U123&gt;": how the desk named agents
// in rows committed before it wrote bot.MentionAgent references.
var userMention = regexp.MustCompile(`&lt;@([UW][A-Z0-9]{1,31})&gt;`)

// userID matches a Slack user id.
var userID = regexp.MustCompile(`^[UW][A-Z0-9]{1,31}$`)

// notice escapes the desk's own text and renders the agents it names (bot.MentionAgent)
// as user mentions: user mentions only, never a broadcast, a group or a link. It is not
// for text a customer wrote.
func notice(s string) string {
	s = userMention.ReplaceAllString(escape(s), "<@$1>")
	return bot.RenderMentions(s, func(id string) string {
		if userID.MatchString(id) {
			return "<@" + id + ">"
		}
		return "@" + id
	})
}

// transcriptLine renders one transcript line: "👤 *name*: text".
func transcriptLine(l bot.Line) string {
	icon := roleIcons[l.Role]
	if icon == "" {
		icon = "•"
	}
	s := icon + " "
	if l.Name != "" {
		s += "*" + escape(truncateRunes(l.Name, maxTicketName)) + "*: "
	}
	text := truncateRunes(strings.Join(strings.Fields(l.Text), " "), maxTicketLine)
	if l.Role == bot.RoleSystem {
		return s + notice(text)
	}
	return s + escape(text)
}

// titled renders a titled list as sections, split where Slack's limits demand.
func titled(title string, lines []string) []slackapi.Block {
	var out []slackapi.Block
	cur := "*" + title + "*"
	flush := func() {
		out = append(out, slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, cur, false, true), nil, nil))
	}
	for _, l := range lines { // lines are escaped and at most a few hundred characters
		if len([]rune(cur))+1+len([]rune(l)) > maxSectionText {
			flush()
			cur = l
			continue
		}
		cur += "\n" + l
	}
	flush()
	return out
}

// field is a section field: a bold label and an escaped value.
func field(label, value string) *slackapi.TextBlockObject {
	if strings.TrimSpace(value) == "" {
		value = "-"
	}
	return slackapi.NewTextBlockObject(slackapi.MarkdownType,
		"*"+label+"*\n"+escapeAtMost(value, maxFieldText-len(label)-10), false, true)
}

// escapeAtMost escapes s and cuts it, marking a cut with an ellipsis, so that the result
// has at most n characters.
func escapeAtMost(s string, n int) string {
	chunks := splitText(s, n-1)
	switch {
	case len(chunks) == 0:
		return ""
	case len(chunks) == 1 && chunks[0] == s:
		return escape(s)
	}
	return escape(chunks[0]) + "…"
}

func channelName(ch string) string {
	switch ch {
	case "line":
		return "LINE"
	case "web":
		return "Web"
	case Name:
		return "Slack"
	case "":
		return "-"
	}
	return ch
}

func langName(l bot.Lang) string {
	switch l {
	case bot.Japanese:
		return "日本語"
	case bot.English:
		return "English"
	case "":
		return "-"
	}
	return string(l)
}

func stateName(s bot.TicketState) string {
	switch s {
	case bot.TicketWaiting:
		return "対応待ち / Waiting"
	case bot.TicketClaimed:
		return "対応中 / Claimed"
	case bot.TicketResolved:
		return "解決済み・評価待ち / Resolved"
	case bot.TicketClosed:
		return "終了 / Closed"
	}
	return strconv.Quote(string(s))
}
