package flows_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// BenchmarkTurn measures one turn, matching and fact reading included, for long and
// pathological messages at the first question and at an input node, with the 99th
// percentile of a turn (p99-µs) and the process's CPU time per turn (cpu-µs/op, the
// garbage collector's included). Issue 12 asks for less than 1 ms at p99. On a shared
// machine, compare builds by running them in turn, not against numbers from another day.
func BenchmarkTurn(b *testing.B) {
	long := strings.Repeat("ギフト券を登録しようとしたら、番号が無効と出ました。スマホから何度も試しています。", 80)[:0]
	for len([]rune(long)) < 5000 {
		long += "ギフト券を登録しようとしたら、番号が無効と出ました。スマホから何度も試しています。残高は3,000円です。"
	}
	long = string([]rune(long)[:5000])
	en := strings.Repeat("I redeemed my gift card but at checkout it keeps charging my Visa, not the balance. ", 60)[:5000]
	inputs := []struct{ name, node, text string }{
		{"short", "start", "ギフト券登録したのに、レジで支払いがクレカのままになってる"},
		{"5000 ja", "start", long},
		{"5000 en", "start", en},
		{"repeated kana", "start", strings.Repeat("あ", 5000)},
		{"repeated dash", "start", strings.Repeat("ー", 5000)},
		{"repeated phrase", "start", strings.Repeat("カード会社は関係ない", 500)},
		{"repeated en phrase", "start", strings.Repeat("not the card company ", 250)},
		{"repeated digits", "ask_balance", strings.Repeat("1,", 2500)},
		{"repeated code", "ask_code", strings.Repeat("AQ3K-7HN2PX-XY9Z8 ", 280)},
		{"repeated dates", "ask_issue_date", strings.Repeat("2016年12月20日", 450)},
	}
	now := func() time.Time { return time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) }
	e := newGiftCardEngine(b, now)
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			c := &bot.Conversation{Key: bot.Key{Channel: "bench", User: "u"}}
			base := *c
			var took []time.Duration
			cpu := processCPU()
			for b.Loop() {
				*c = base
				c.Node, c.Status, c.Path, c.UpdatedAt = in.node, bot.StatusActive, []string{in.node}, now()
				c.Vars = map[string]string{}
				start := time.Now()
				if _, err := e.Step(context.Background(), c, bot.Inbound{Kind: bot.InText, Text: in.text}); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			cpu = processCPU() - cpu
			// The bound is on the 99th percentile of a turn, not its mean.
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
			if cpu > 0 {
				// CPU time per turn, collection included: on a loaded machine it varies much
				// less than the time a turn takes.
				b.ReportMetric(float64(cpu.Microseconds())/float64(len(took)), "cpu-µs/op")
			}
		})
	}
}
