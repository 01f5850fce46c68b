package web

import "github.com/giftdesk/giftdesk/bot"

// errorTexts are the API errors' messages for the customer, by code.
var errorTexts = map[string]bot.Text{
	"bad_json":     {JA: "メッセージを送れませんでした。ページを読み込み直してください。", EN: "The message could not be sent. Please reload the page."},
	"bad_id":       {JA: "メッセージを送れませんでした。ページを読み込み直してください。", EN: "The message could not be sent. Please reload the page."},
	"empty":        {JA: "メッセージが空です。", EN: "The message is empty."},
	"too_long":     {JA: "メッセージが長すぎます。%d文字以内にして送ってください。", EN: "That message is too long. Please keep it to %d characters."},
	"rate_limited": {JA: "送信が続いています。少し待ってからもう一度送ってください。", EN: "You are sending messages too quickly. Please wait a moment and try again."},
	"bad_session":  {JA: "チャットの接続が無効になりました。新しいチャットを始めます。", EN: "This chat session is no longer valid. A new chat will start."},
	"forbidden":    {JA: "このページからはチャットを利用できません。", EN: "The chat cannot be used from this page."},
	"unavailable":  {JA: "ただいま混み合っています。少し待ってからもう一度お試しください。", EN: "The chat is busy right now. Please try again in a moment."},
	"bad_after":    {JA: "履歴を読み込めませんでした。ページを読み込み直してください。", EN: "The history could not be loaded. Please reload the page."},
}

// errorText returns the message of an API error code in lang.
func errorText(code string, lang bot.Lang) string {
	if t, ok := errorTexts[code]; ok {
		return t.In(lang)
	}
	return errorTexts["unavailable"].In(lang)
}
