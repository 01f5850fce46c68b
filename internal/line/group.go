package line

import (
	"errors"
	"strings"

	"github.com/giftdesk/giftdesk/bot"
)

// Conversation keys in groups and rooms. LINE names the sender (source.userId) only for
// members on iOS and Android: a member on LINE for PC, and a postback in a group, come
// without one. So:
//
//   - with a user id, each member has a conversation of their own, keyed
//     "group:<group id>:<user id>" (or "room:…"), and can be greeted by name;
//   - without one, the group or room itself is the conversation, "group:<group id>", and
//     the sender is anonymous (no profile is looked up);
//   - join and leave, which concern the bot and no member, belong to the group's own
//     conversation.
//
// Answers always go to the group or room.
const (
	groupPrefix = "group:"
	roomPrefix  = "room:"
)

// conversation returns where answers to we go and whose conversation it is, or an error
// when its source names nobody to answer.
func conversation(we *wireEvent) (address string, k bot.Key, err error) {
	src := we.Source
	k.Channel = Name
	var prefix, id string
	switch src.Type {
	case "group":
		prefix, id = groupPrefix, src.GroupID
	case "room":
		prefix, id = roomPrefix, src.RoomID
	default: // "user", and types LINE may add: the user is the conversation
		if src.UserID == "" {
			return "", bot.Key{}, errors.New(we.Type + " event without source.userId")
		}
		k.User = src.UserID
		return src.UserID, k, nil
	}
	if id == "" {
		return "", bot.Key{}, errors.New(we.Type + " event in a " + src.Type + " without its id")
	}
	k.User = prefix + id
	if src.UserID != "" && we.Type != "join" && we.Type != "leave" {
		k.User += ":" + src.UserID
	}
	return id, k, nil
}

// joinOrLeave converts the bot joining or leaving a group or room: a join is greeted
// once, in the group's own conversation, with what the bot does and how to mention it; a
// leave ends that conversation (as an unfollow ends a one-to-one chat, marked Removed so
// that an open ticket's thread says the bot was removed). ok is false for a
// source that is not a group or room.
func joinOrLeave(we *wireEvent) (in bot.Inbound, ok bool) {
	if we.Source.Type != "group" && we.Source.Type != "room" {
		return bot.Inbound{}, false
	}
	if we.Type == "join" {
		return bot.Inbound{Kind: bot.InJoin}, true
	}
	return bot.Inbound{Kind: bot.InUnfollow, Removed: true}, true
}

// anonymous reports whether conversation key user is a group or room without a member:
// there is no profile to look up.
func anonymous(user string) bool {
	rest, ok := strings.CutPrefix(user, groupPrefix)
	if !ok {
		rest, ok = strings.CutPrefix(user, roomPrefix)
	}
	return ok && rest != "" && !strings.Contains(rest, ":")
}

// inGroup reports whether conversation key user is in a group or room.
func inGroup(user string) bool {
	return strings.HasPrefix(user, groupPrefix) || strings.HasPrefix(user, roomPrefix)
}
