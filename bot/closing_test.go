package bot

import (
	"strings"
	"testing"
)

func TestEmojiPolarity(t *testing.T) {
	tests := []struct {
		name, text string
		want       int
	}{
		{"thumbs up", "👍", 1},
		{"folded hands twice", "🙏🙏", 1},
		{"OK gesture with modifier", "🙆‍♀️", 1},
		{"smile and mark", "😊！", 1},
		{"thumbs down", "👎", -1},
		{"tears", "😭😭", -1},
		{"crossed arms", "🙅", -1},
		{"mixed", "👍😭", 0},
		{"text with emoji", "できた👍", 0},
		{"no emoji", "ok", 0},
		{"thinking is neither", "🤔", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := emojiPolarity(tt.text); got != tt.want {
				t.Errorf("emojiPolarity(%q) = %d, want %d", tt.text, got, tt.want)
			}
		})
	}
}

func TestSaysNoPoliteEndings(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"うまくいきません", true},
		{"反映されませんでした", true},
		{"ありがとうございます、すみません", false},
		{"問題ありません", false},
		{"顔のマークがないんですが", true},
		{"見当たらないんだけど", true},
		{"問題ないんですが", false},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			u := utterance{compact: tt.text}
			if got := saysNo(u); got != tt.want {
				t.Errorf("saysNo(%q) = %v, want %v", tt.text, got, tt.want)
			}
		})
	}
}

func TestStatesPlan(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"分けて買います", true},
		{"あとでやります", true},
		{"警察行きます", true},
		{"次から気をつけます", true},
		{"エラーが出ます", false},
		{"使用済みになります", false},
		{"無効と表示されます", false},
		{"ちゃんと入れてます", false},
		{"まだ弾かれます", false},
		{"買えません", false},
		{"できますか", false},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if got := statesPlan(utterance{compact: tt.text}); got != tt.want {
				t.Errorf("statesPlan(%q) = %v, want %v", tt.text, got, tt.want)
			}
		})
	}
}

func TestReacts(t *testing.T) {
	tests := []struct {
		compact, spaced string
		want            bool
	}{
		{"まじか…", "まじか…", true},
		{"えー、ショック", "えー、ショック", true},
		{"damn", "damn", true},
		{"まじかよ、使用済みって出てるんだけど", "", false},
		{"はい", "はい", false},
	}
	for _, tt := range tests {
		t.Run(tt.compact, func(t *testing.T) {
			u := utterance{compact: tt.compact, spaced: tt.spaced, words: strings.Fields(tt.spaced)}
			if got := reacts(u); got != tt.want {
				t.Errorf("reacts(%q) = %v, want %v", tt.compact, got, tt.want)
			}
		})
	}
}
