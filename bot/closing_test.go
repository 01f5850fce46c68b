package bot

import "testing"

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
