package linetest

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// LINE's documented limits that messaging-api.yml does not encode, or encodes only in
// part. They are checked whether or not the spec file is present.
//
// Counting follows LINE's "Character counting in a text" page: message text is counted
// in UTF-16 code units (an emoji such as 🍎 counts 2). Action properties are counted by
// LINE in grapheme clusters; the fake counts code points, which is never fewer, so it is
// at most stricter than LINE (a flag or ZWJ emoji in a label counts as several).
const (
	maxMessages        = 5    // messages per reply or push
	maxTextLen         = 5000 // text of a text message, UTF-16 code units
	maxQuickReplyItems = 13
	maxActionLabel     = 20   // label of a quick reply or template action
	maxImageCarouselLb = 12   // label of an image carousel column's action
	maxActionData      = 300  // postback/datetimepicker data
	maxActionText      = 300  // postback displayText/text, message action text
	maxURI             = 1000 // uri action
	maxAltText         = 1500 // flex and imagemap altText
	maxTemplateAltText = 400  // template altText
)

// limitChecker collects details about LINE limits for one request body.
type limitChecker struct {
	details []Detail
}

func (c *limitChecker) addf(path []pathSeg, format string, args ...any) {
	c.details = append(c.details, Detail{Property: formatPath(path), Message: fmt.Sprintf(format, args...)})
}

// checkMessageLimits checks the "messages" of a reply or push request body.
func checkMessageLimits(body map[string]any) []Detail {
	var c limitChecker
	path := []pathSeg{{key: "messages"}}
	raw, ok := body["messages"]
	if !ok {
		c.addf(path, "must be specified")
		return c.details
	}
	msgs, ok := raw.([]any)
	if !ok {
		c.addf(path, "must be an array")
		return c.details
	}
	if len(msgs) < 1 || len(msgs) > maxMessages {
		c.addf(path, "size must be between 1 and %d", maxMessages)
	}
	for i, m := range msgs {
		if obj, ok := m.(map[string]any); ok {
			c.message(obj, appendPath(path, pathSeg{index: i}))
		}
	}
	return c.details
}

func (c *limitChecker) message(m map[string]any, path []pathSeg) {
	typ, _ := m["type"].(string)
	switch typ {
	case "text", "textV2":
		c.requiredString(m, "text", path, maxTextLen, utf16Len, "UTF-16 code units")
	case "flex", "imagemap":
		c.requiredString(m, "altText", path, maxAltText, utf8.RuneCountInString, "characters")
	case "template":
		c.requiredString(m, "altText", path, maxTemplateAltText, utf8.RuneCountInString, "characters")
		if tpl, ok := m["template"].(map[string]any); ok {
			c.template(tpl, appendPath(path, pathSeg{key: "template"}))
		}
	}
	if typ == "flex" {
		c.flexActions(m["contents"], appendPath(path, pathSeg{key: "contents"}))
	}
	if qr, ok := m["quickReply"].(map[string]any); ok {
		c.quickReply(qr, appendPath(path, pathSeg{key: "quickReply"}))
	}
}

func (c *limitChecker) quickReply(qr map[string]any, path []pathSeg) {
	path = appendPath(path, pathSeg{key: "items"})
	items, ok := qr["items"].([]any)
	if !ok {
		return
	}
	if len(items) > maxQuickReplyItems {
		c.addf(path, "size must be between 0 and %d", maxQuickReplyItems)
	}
	for i, it := range items {
		ip := appendPath(path, pathSeg{index: i})
		item, ok := it.(map[string]any)
		if !ok {
			continue
		}
		// The spec gives QuickReplyItem.type only a default, but LINE's reference
		// lists it as required with the single value "action".
		switch t, present := item["type"]; {
		case !present:
			c.addf(appendPath(ip, pathSeg{key: "type"}), `must be specified (always "action")`)
		case t != "action":
			c.addf(appendPath(ip, pathSeg{key: "type"}), `must be "action"`)
		}
		action, ok := item["action"].(map[string]any)
		if !ok {
			c.addf(appendPath(ip, pathSeg{key: "action"}), "must be specified")
			continue
		}
		c.action(action, appendPath(ip, pathSeg{key: "action"}), maxActionLabel)
	}
}

// template checks the actions of a buttons, confirm, carousel or image carousel template.
func (c *limitChecker) template(tpl map[string]any, path []pathSeg) {
	c.actionList(tpl, path, maxActionLabel)
	cols, _ := tpl["columns"].([]any)
	labelMax := maxActionLabel
	if tpl["type"] == "image_carousel" {
		labelMax = maxImageCarouselLb
	}
	for i, col := range cols {
		if obj, ok := col.(map[string]any); ok {
			c.actionList(obj, appendPath(path, pathSeg{key: "columns"}, pathSeg{index: i}), labelMax)
		}
	}
}

func (c *limitChecker) actionList(obj map[string]any, path []pathSeg, labelMax int) {
	if acts, ok := obj["actions"].([]any); ok {
		for i, a := range acts {
			if am, ok := a.(map[string]any); ok {
				c.action(am, appendPath(path, pathSeg{key: "actions"}, pathSeg{index: i}), labelMax)
			}
		}
	}
	for _, k := range []string{"action", "defaultAction"} {
		if am, ok := obj[k].(map[string]any); ok {
			// A default action is not a button: its label is optional.
			lim := labelMax
			if k == "defaultAction" {
				lim = -maxActionLabel
			}
			c.action(am, appendPath(path, pathSeg{key: k}), lim)
		}
	}
}

// flexActions checks the actions and text components inside a flex container. Flex
// action labels are optional and LINE documents no 20-character limit for them, so only
// data and text limits apply to flex actions.
func (c *limitChecker) flexActions(v any, path []pathSeg) {
	switch val := v.(type) {
	case map[string]any:
		// The spec leaves a flex text's "text" optional because "contents" (spans) may
		// stand in for it; LINE requires one of the two.
		if val["type"] == "text" {
			if _, hasSpans := val["contents"].([]any); !hasSpans {
				c.requiredString(val, "text", path, 1<<31-1, utf8.RuneCountInString, "characters")
			}
		}
		for k, child := range val {
			p := appendPath(path, pathSeg{key: k})
			if am, ok := child.(map[string]any); ok && k == "action" {
				c.action(am, p, 0)
				continue
			}
			c.flexActions(child, p)
		}
	case []any:
		for i, child := range val {
			c.flexActions(child, appendPath(path, pathSeg{index: i}))
		}
	}
}

// action checks one action object. labelMax > 0 makes the label required with that
// maximum; labelMax < 0 makes it optional with maximum -labelMax; 0 leaves it unchecked.
func (c *limitChecker) action(a map[string]any, path []pathSeg, labelMax int) {
	runes := utf8.RuneCountInString
	switch {
	case labelMax > 0:
		c.requiredString(a, "label", path, labelMax, runes, "characters")
	case labelMax < 0:
		c.optionalString(a, "label", path, -labelMax, runes, "characters")
	}
	switch a["type"] {
	case "postback":
		c.optionalString(a, "data", path, maxActionData, runes, "characters")
		c.optionalString(a, "displayText", path, maxActionText, runes, "characters")
		c.optionalString(a, "text", path, maxActionText, runes, "characters")
	case "datetimepicker":
		c.optionalString(a, "data", path, maxActionData, runes, "characters")
	case "message":
		c.requiredString(a, "text", path, maxActionText, runes, "characters")
	case "uri":
		c.requiredString(a, "uri", path, maxURI, runes, "characters")
	}
}

func (c *limitChecker) requiredString(obj map[string]any, key string, path []pathSeg, limit int, count func(string) int, unit string) {
	p := appendPath(path, pathSeg{key: key})
	raw, present := obj[key]
	if !present || raw == nil {
		c.addf(p, "must be specified")
		return
	}
	s, ok := raw.(string)
	if !ok {
		return // a type error; the schema reports it
	}
	if s == "" {
		c.addf(p, "may not be empty")
		return
	}
	if n := count(s); n > limit {
		c.addf(p, "must be at most %d %s (got %d)", limit, unit, n)
	}
}

func (c *limitChecker) optionalString(obj map[string]any, key string, path []pathSeg, limit int, count func(string) int, unit string) {
	s, ok := obj[key].(string)
	if !ok {
		return
	}
	if n := count(s); n > limit {
		c.addf(appendPath(path, pathSeg{key: key}), "must be at most %d %s (got %d)", limit, unit, n)
	}
}

// checkLoadingLimits checks a loading animation request: LINE wants a multiple of 5
// between 5 and 60 seconds; the spec encodes only the range.
func checkLoadingLimits(body map[string]any) []Detail {
	var c limitChecker
	if s, _ := body["chatId"].(string); s == "" {
		c.addf([]pathSeg{{key: "chatId"}}, "must be specified")
	}
	raw, present := body["loadingSeconds"]
	if !present {
		return c.details
	}
	f, ok := raw.(float64)
	if !ok || f != float64(int(f)) || int(f)%5 != 0 || f < 5 || f > 60 {
		c.addf([]pathSeg{{key: "loadingSeconds"}}, "must be a multiple of 5 between 5 and 60")
	}
	return c.details
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}
