package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
)

// The browser test drives the web chat in headless Chromium against a real giftdesk
// serve (web and Slack in HTTP mode, on the Slack fake). It is skipped when no Chromium
// is found; .ci/run installs Debian's chromium package.
//
//	go test ./cmd/giftdesk -run Browser -v                                  # run it
//	go test ./cmd/giftdesk -run 'Browser/diagnosis' -browser.screenshot docs/web-chat.png  # and save the screenshot
var screenshotPath = flag.String("browser.screenshot", "", "write a screenshot of the finished diagnosis to this file (the browser test)")

// chromium returns the path of a Chromium or Chrome binary, or "" when there is none.
func chromium() string {
	if p := os.Getenv("GIFTDESK_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// startBrowser starts headless Chromium with a fresh profile for the test.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromium()
	if path == "" && os.Getenv("CI") != "" {
		t.Fatal("no Chromium found; .ci/run installs it (Debian: apt-get install chromium)")
	}
	if path == "" {
		t.Skip("no Chromium found: install it (Debian: apt-get install chromium, as .ci/run does) or set GIFTDESK_CHROMIUM")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true), chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-features", "Translate"), chromedp.Flag("password-store", "basic"),
		chromedp.Flag("lang", "ja"), chromedp.Flag("accept-lang", "ja"), // a Japanese customer's browser
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(430, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return bctx
}

// newTab opens a tab in a browser context of its own (its own cookies: a new customer).
// Every action on it ends with the test's deadline of two minutes.
func newTab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancelTimeout)
	return ctx
}

// shown is one conversation entry as the page shows it.
type shown struct {
	Seq      int    `json:"seq"`
	From     string `json:"from"`
	Kind     string `json:"kind"`
	Text     string `json:"text"`
	ClientID string `json:"client_id"`
}

const snapshotJS = `Array.from(document.querySelectorAll('#log .msg')).map(function (e) {
  return {seq: +e.getAttribute('data-seq'), client_id: e.getAttribute('data-client-id') || '',
    from: e.classList.contains('customer') ? 'customer' : e.classList.contains('agent') ? 'agent' : 'bot',
    kind: e.getAttribute('data-kind'), text: e.querySelector('.bubble').textContent};
})`

// page is one tab on the chat.
type chatPage struct {
	t   *testing.T
	ctx context.Context
}

func (p chatPage) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v\npage:\n%s", what, err, p.dump())
	}
}

// waitJS waits until the JavaScript expression cond is true in the page.
func (p chatPage) waitJS(what, cond string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](cond,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		p.t.Fatalf("waiting for %s: %v\npage:\n%s", what, err, p.dump())
	}
}

func eval[T any](p chatPage, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (p chatPage) entries() []shown {
	p.t.Helper()
	return eval[[]shown](p, snapshotJS)
}

func (p chatPage) dump() string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), 5*time.Second)
	defer cancel()
	es, err := chromedp.Run(ctx, chromedp.Evaluate[[]shown](snapshotJS))
	if err != nil {
		return "(cannot read the page: " + err.Error() + ")"
	}
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "  %d %s/%s %q\n", e.Seq, e.From, e.Kind, e.Text)
	}
	errText, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('error').hidden ? '' : document.getElementById('error-text').textContent`))
	if errText != "" {
		fmt.Fprintf(&b, "  error line: %q\n", errText)
	}
	return b.String()
}

// count is how many entries the page shows.
func (p chatPage) count() int { return len(p.entries()) }

// waitEntries waits until the page shows more than n entries and the last is from who
// (a bot or agent answer, or the customer's own message confirmed by the server).
func (p chatPage) waitAfter(n int, from string) []shown {
	p.t.Helper()
	p.waitJS(fmt.Sprintf("an entry from %s after %d", from, n), fmt.Sprintf(
		`(function(){var a=document.querySelectorAll('#log .msg');for(var i=%d;i<a.length;i++){if(a[i].classList.contains(%q))return true}return false})()`, n, from))
	return p.entries()
}

// typeText types text into the message box and presses Enter.
func (p chatPage) typeText(text string) {
	p.t.Helper()
	p.do("type "+text, chromedp.Focus(chromedp.CSS("#input")), chromedp.SendKeys(chromedp.CSS("#input"), text), enterKey)
}

// enterKey presses Enter with no character event (chromedp's "\r" also types a line
// break after the page has sent the message).
var enterKey = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
		if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
		}); err != nil {
			return err
		}
	}
	return nil
})

// tap clicks the option button labelled label. Only the last entry has options (the page
// takes them away from earlier ones, as LINE does).
func (p chatPage) tap(label string) {
	p.t.Helper()
	labelJS, _ := json.Marshal(label)
	p.waitJS("the option "+label, fmt.Sprintf(`Array.from(document.querySelectorAll('#log .msg:last-child .choices button')).some(function (b) { return b.textContent === %s; })`, labelJS))
	i := eval[int](p, fmt.Sprintf(`Array.from(document.querySelectorAll('#log .msg:last-child .choices button')).findIndex(function (b) { return b.textContent === %s; })`, labelJS))
	p.do("tap "+label, chromedp.Click(chromedp.CSS(fmt.Sprintf("#log .msg:last-child .choices button:nth-child(%d)", i+1))))
}

func textsOf(es []shown) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%s: %s\n", e.From, e.Text)
	}
	return b.String()
}

// webDesk is giftdesk serve with the web chat and Slack (HTTP mode) on the Slack fake,
// and a page of another origin that embeds the widget.
type webDesk struct {
	*desk
	host *httptest.Server // a page of another origin with the widget on it
}

func startWebDesk(t *testing.T) *webDesk {
	t.Helper()
	slack := slacktest.NewServer()
	t.Cleanup(slack.Close)
	slack.Join("CHANDOFF")
	slack.AddMembers("CHANDOFF", "UALICE")
	slack.AddUser(slacktest.User{ID: "UALICE", Name: "alice", DisplayName: "アリス"})
	var chatURL string
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A marketplace</title></head>
<body><h1>A marketplace</h1><p>Gift cards for sale.</p><script src="%s/widget.js" async></script></body></html>`, chatURL)
	}))
	t.Cleanup(host.Close)
	db := filepath.Join(t.TempDir(), "giftdesk.db")
	env := map[string]string{
		"GIFTDESK_DB": db, "SLACK_BOT_TOKEN": slacktest.BotToken, "SLACK_SIGNING_SECRET": slackSecret,
		"SLACK_API_URL": slack.URL(), "SLACK_HANDOFF_CHANNEL": "CHANDOFF", "GIFTDESK_BUSINESS_HOURS": "always",
		"GIFTDESK_WEB_ORIGINS": host.URL,
	}
	var logs syncBuffer
	s := startServeWith(t, nil, env, &logs)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	chatURL = s.url
	return &webDesk{desk: &desk{lineServer: s, slack: slack}, host: host}
}

// TestBrowser drives the web chat in Chromium: a diagnosis with taps and Japanese free
// text up to advice, the history after a reload, a message resent after a cut connection
// answered once, a switch to English, HTML typed as text, a hand-off answered by an agent
// in Slack, a forged cookie, and the widget on another site's page.
func TestBrowser(t *testing.T) {
	browser := startBrowser(t)
	d := startWebDesk(t)

	t.Run("diagnosis", func(t *testing.T) {
		p := chatPage{t, newTab(t, browser)}
		p.do("open the chat", chromedp.Navigate(d.url+"/"))
		p.waitJS("the greeting's options", `document.querySelector('#log .msg.bot .choices button') !== null`)
		if lang := eval[string](p, `document.documentElement.lang`); lang != "ja" {
			t.Errorf("page language %q, want ja (the browser asks for none; the default is Japanese)", lang)
		}
		watchTyping := func() {
			p.do("watch the typing indicator", chromedp.Evaluate[chromedp.Void](`window.typingSeen = false;
			new MutationObserver(function(){ if (!document.getElementById('typing').hidden) window.typingSeen = true; })
			  .observe(document.getElementById('typing'), {attributes: true});`))
		}
		watchTyping()

		// Tap an option: the customer's choice and the next question.
		n := p.count()
		p.tap("登録方法を知りたい")
		es := p.waitAfter(n, "bot")
		wantIn(t, "after the tap", textsOf(es[n:]), "customer: 登録方法を知りたい", "端末")
		p.waitJS("the device question's options", `document.querySelectorAll('#log .msg:last-child .choices button').length >= 2`)

		// Japanese free text reaches advice: a card with a title and numbered steps.
		start := time.Now()
		p.typeText("ノートパソコンです")
		p.waitJS("the advice card", `document.querySelector('#log .card ol li') !== null`)
		t.Logf("typed message to advice on screen: %v", time.Since(start).Round(time.Millisecond))
		title := eval[string](p, `document.querySelector('#log .card .card-title').textContent`)
		steps := eval[int](p, `document.querySelectorAll('#log .card ol li').length`)
		if !strings.Contains(title, "登録方法") || steps < 3 {
			t.Errorf("advice card %q with %d steps", title, steps)
		}
		p.waitJS("解決しましたか with its options", `document.querySelectorAll('#log .msg:last-child .choices button').length === 2`)
		p.waitJS("the live region saying the answer", `document.getElementById('announce').textContent.indexOf('解決しましたか') >= 0`)
		if pending := eval[int](p, `document.querySelectorAll('#pending .msg').length`); pending != 0 {
			t.Errorf("%d optimistic bubbles left after the server confirmed them", pending)
		}
		before := p.entries()
		if got := strings.Count(textsOf(before), "customer: ノートパソコンです"); got != 1 {
			t.Errorf("the typed message is shown %d times:\n%s", got, textsOf(before))
		}

		// A reload shows the same history, nothing twice.
		typed := eval[bool](p, `!!window.typingSeen`)
		p.do("reload", chromedp.Reload())
		p.waitJS("the history", fmt.Sprintf(`document.querySelectorAll('#log .msg').length >= %d`, len(before)))
		p.waitJS("the advice card again", `document.querySelector('#log .card ol li') !== null`)
		if after := p.entries(); textsOf(after) != textsOf(before) {
			t.Errorf("history after reload:\n%s\nbefore:\n%s", textsOf(after), textsOf(before))
		}
		watchTyping()

		// The connection is cut before the message reaches the server: the page sends it
		// again, with the same id, and it is answered once.
		cut := cutPost(t, p.ctx, fetch.RequestStageRequest)
		n = p.count()
		p.tap("はい、解決しました")
		p.waitAfter(n, "bot")
		p.waitJS("the resent message confirmed", `document.querySelectorAll('#pending .msg').length === 0`)
		if ids := cut(); len(ids) < 2 || ids[0] != ids[1] {
			t.Errorf("POST /api/messages ids %q: want the cut one, then the same id again", ids)
		}
		resentAt := n
		if *screenshotPath != "" {
			shot(t, p, *screenshotPath)
		}

		// The connection is cut after the server took the message, before the page got
		// the 202: the page shows the message once (the server's entry confirms it).
		cut = cutPost(t, p.ctx, fetch.RequestStageResponse)
		n = p.count()
		p.typeText("ありがとうございました")
		p.waitAfter(n, "bot")
		p.waitJS("no message left unconfirmed", `document.querySelectorAll('#pending .msg').length === 0`)
		if ids := cut(); len(ids) == 0 {
			t.Errorf("no POST /api/messages was cut")
		}

		// The same message id posted twice from the page: one effect.
		n = p.count()
		codes := eval[[]int](p, `(function(){
			var body = JSON.stringify({id: 'twice-0123456789', text: 'もう一つ聞きたいです'});
			function post() { return fetch('/api/messages', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: body}).then(function (r) { return r.status; }); }
			return post().then(function (a) { return post().then(function (b) { return [a, b]; }); });
		})()`)
		if len(codes) != 2 || codes[0] != http.StatusAccepted || codes[1] != http.StatusAccepted {
			t.Errorf("the same id posted twice answered %v, want [202 202]", codes)
		}
		p.waitAfter(n, "bot")

		// Once the pipeline is drained any second answer has been sent, and the stream
		// delivers in order: it is on screen before the answer to one more message.
		d.waitDrained()
		n = p.count()
		p.typeText("最初から")
		es = p.waitAfter(n, "bot")
		for _, text := range []string{"はい、解決しました", "ありがとうございました"} {
			if got := strings.Count(textsOf(es[resentAt:]), "customer: "+text+"\n"); got != 1 {
				t.Errorf("%q is shown %d times, want 1:\n%s", text, got, textsOf(es[resentAt:]))
			}
		}
		twice := 0
		for _, e := range es {
			if e.ClientID == "twice-0123456789" {
				twice++
			}
		}
		if twice != 1 {
			t.Errorf("the message posted twice with one id is shown %d times, want 1:\n%s", twice, textsOf(es))
		}
		// The typing indicator showed while a turn was pending (checked over several turns:
		// a turn answered before the stream looks is never "typing").
		if !typed && !eval[bool](p, `!!window.typingSeen`) {
			t.Errorf("the typing indicator was never shown while a turn was processed")
		}

		// Each of the two messages got one answer: no bot message twice before the
		// customer's next one.
		for i, e := range es {
			if e.From != "customer" || i < resentAt || e.Text == "最初から" {
				continue
			}
			seen := map[string]bool{}
			for _, a := range es[i+1:] {
				if a.From == "customer" {
					break
				}
				if seen[a.Text] {
					t.Errorf("%q answered twice:\n%s", e.Text, textsOf(es[i:]))
				}
				seen[a.Text] = true
			}
		}
	})

	t.Run("english and hand-off", func(t *testing.T) {
		p := chatPage{t, newTab(t, browser)}
		var dialogs atomic.Int32
		opened := chromedp.Events(p.ctx, page.JavascriptDialogOpening)
		go func() {
			for _, err := range opened {
				if err != nil {
					return
				}
				dialogs.Add(1)
				_, _ = chromedp.Call(p.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
			}
		}()
		p.do("open the chat", chromedp.Navigate(d.url+"/"))
		p.waitJS("the greeting's options", `document.querySelector('#log .msg.bot .choices button') !== null`)

		// The language button: the customer's "English", the bot and the page in English.
		n := p.count()
		p.do("switch to English", chromedp.Click(chromedp.CSS("#lang")))
		es := p.waitAfter(n, "bot")
		wantIn(t, "after the switch", textsOf(es[n:]), "customer: English")
		p.waitJS("the page in English", `document.documentElement.lang === 'en' && document.getElementById('send').textContent === 'Send' && document.getElementById('lang').textContent === '日本語'`)
		if ja := eval[bool](p, `/[\u3040-\u30ff]/.test(Array.from(document.querySelectorAll('#log .msg.bot')).pop().textContent)`); ja {
			t.Errorf("the bot's answer to English is in Japanese:\n%s", textsOf(es[n:]))
		}

		// HTML typed by the customer is shown as text.
		n = p.count()
		xss := `<img src=x onerror=alert(1)>`
		p.typeText(xss)
		es = p.waitAfter(n, "bot")
		if got := eval[int](p, `document.querySelectorAll('img').length`); got != 0 {
			t.Errorf("the page has %d img elements after the customer typed %s", got, xss)
		}
		wantIn(t, "the customer's message", textsOf(es[n:]), "customer: "+xss)

		// A message over the limit: a clear error line, the text given back.
		max := eval[int](p, `fetch('/api/session').then(function (r) { return r.json(); }).then(function (s) { return s.max_text; })`)
		long := strings.Repeat("あ", max+1)
		p.do("send a long message", chromedp.SetValue(chromedp.CSS("#input"), long), chromedp.Focus(chromedp.CSS("#input")), enterKey)
		p.waitJS("the error line", `!document.getElementById('error').hidden && document.getElementById('error-text').textContent.length > 0`)
		if v := eval[string](p, `document.getElementById('input').value`); v != long {
			t.Errorf("the long message was not given back to edit (%d characters in the box)", len([]rune(v)))
		}
		p.do("clear the box", chromedp.Evaluate[chromedp.Void](`document.getElementById('input').value = ''`))

		// Hand-off: the ticket in Slack says Web; the agent's reply appears in the page.
		p.typeText("can I talk to a human please?")
		p.waitJS("the hand-off notice", `document.querySelector('#log .msg[data-kind=handoff]') !== null`)
		roots, err := d.slack.WaitMessages(p.ctx, "CHANDOFF", 1)
		if err != nil {
			t.Fatalf("no ticket posted: %v\npage:\n%s", err, p.dump())
		}
		root := roots[0]
		wantIn(t, "ticket", root.Plain(), "Web")
		waitLinked(t, d.db, root)
		if code := d.press(root, "UALICE", "claim"); code != http.StatusOK {
			t.Fatalf("claim answered %d", code)
		}
		start := time.Now()
		d.agentSays(root, "UALICE", "お待たせしました、担当のアリスです。")
		p.waitJS("the agent's reply", `Array.from(document.querySelectorAll('#log .msg.agent')).some(function (e) { return e.textContent.indexOf('担当のアリスです') >= 0; })`)
		t.Logf("agent's Slack message to the page: %v", time.Since(start).Round(time.Millisecond))

		// The customer answers; the agent's reply is still there after a reload.
		p.do("reload", chromedp.Reload())
		p.waitJS("the agent's reply after reload", `document.querySelectorAll('#log .msg.agent').length === 1`)
		if dialogs.Load() != 0 {
			t.Errorf("%d JavaScript dialogs opened", dialogs.Load())
		}
	})

	t.Run("forged cookie, then English in words", func(t *testing.T) {
		p := chatPage{t, newTab(t, browser)}
		if _, err := chromedp.Call(p.ctx, network.SetCookie, network.SetCookieParams{
			Name: "giftdesk_web", Value: "c0ffee.Zm9yZ2Vk", URL: d.url + "/", HTTPOnly: new(true),
		}); err != nil {
			t.Fatal(err)
		}
		p.do("open the chat", chromedp.Navigate(d.url+"/"))
		p.waitJS("the error line", `!document.getElementById('error').hidden`)
		p.waitJS("a new conversation's greeting", `document.querySelector('#log .msg.bot .choices button') !== null`)

		// A language asked for in words switches the page too.
		p.typeText("English please")
		p.waitJS("the page in English", `document.documentElement.lang === 'en' && document.getElementById('input').placeholder === 'Type a message'`)
	})

	t.Run("rate limit", func(t *testing.T) {
		p := chatPage{t, newTab(t, browser)}
		p.do("open the chat", chromedp.Navigate(d.url+"/"))
		p.waitJS("the greeting's options", `document.querySelector('#log .msg.bot .choices button') !== null`)
		// Spend the conversation's burst of messages, then type one more.
		refused := eval[int](p, `(function(){
			var s = [];
			for (var i = 0; i < 20; i++) s.push(fetch('/api/messages', {method: 'POST', headers: {'Content-Type': 'application/json'},
				body: JSON.stringify({id: 'burst-' + i + '-0123456789', text: 'こんにちは'})}).then(function (r) { return r.status; }));
			return Promise.all(s).then(function (codes) { return codes.filter(function (c) { return c === 429; }).length; });
		})()`)
		if refused == 0 {
			t.Fatalf("20 messages at once: none refused with 429")
		}
		p.typeText("残高が消えました")
		p.waitJS("the rate-limit error line", `!document.getElementById('error').hidden && /\d/.test(document.getElementById('error-text').textContent)`)
		// The page sends it again after Retry-After, with the same id: shown once.
		p.waitJS("the message sent after the wait", `Array.from(document.querySelectorAll('#log .msg.customer')).some(function (e) { return e.textContent.indexOf('残高が消えました') >= 0; })`)
		p.waitJS("no message left unconfirmed and the error line gone", `document.querySelectorAll('#pending .msg').length === 0 && document.getElementById('error').hidden`)
	})

	t.Run("widget on another site", func(t *testing.T) {
		p := chatPage{t, newTab(t, browser)}
		p.do("open the marketplace page", chromedp.Navigate(d.host.URL+"/"))
		p.waitJS("the launcher", `document.querySelector('.giftdesk-launcher') !== null`)
		// Keyboard: focus the launcher and press Enter.
		p.do("open the widget", chromedp.Focus(chromedp.CSS(".giftdesk-launcher")), chromedp.KeyEvent("\r"))
		p.waitJS("the frame", `(function(){var f=document.querySelector('#giftdesk-panel iframe');return f && !document.getElementById('giftdesk-panel').hidden && f.getBoundingClientRect().height > 200})()`)
		frames, err := chromedp.Run(p.ctx, chromedp.Nodes(chromedp.CSS("#giftdesk-panel iframe")))
		if err != nil || len(frames) == 0 {
			t.Fatalf("iframe node: %v", err)
		}
		if _, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](
			`document.documentElement.classList.contains('embed') && document.querySelector('#log .msg.bot .choices button') !== null`,
			chromedp.WithPollingInFrame(frames[0]), chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			t.Fatalf("the chat in the widget's frame never showed the greeting: %v", err)
		}
		p.do("close the widget", chromedp.Click(chromedp.CSS(`#giftdesk-panel button`)))
		p.waitJS("the widget closed, focus back on the launcher", `document.getElementById('giftdesk-panel').hidden && document.activeElement === document.querySelector('.giftdesk-launcher')`)
		// Open again with the keyboard; Escape inside the chat closes it.
		p.do("open the widget again", chromedp.KeyEvent("\r"))
		p.waitJS("the frame again", `!document.getElementById('giftdesk-panel').hidden`)
		p.do("Tab into the chat", chromedp.KeyEvent(kb.Tab))
		if _, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](`document.activeElement.tagName === 'BUTTON' || document.activeElement.tagName === 'TEXTAREA'`,
			chromedp.WithPollingInFrame(frames[0]), chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("Tab from the frame did not reach a control in the chat: %v", err)
		}
		p.do("press Escape in the chat", chromedp.KeyEvent(kb.Escape))
		p.waitJS("the widget closed by Escape", `document.getElementById('giftdesk-panel').hidden`)
	})
}

// cutPost makes the browser drop the connection of the next POST /api/messages, before
// it is sent (fetch.RequestStageRequest) or after the server has answered it
// (fetch.RequestStageResponse): the page sees a network error. Later requests pass. The
// returned func stops the interception and returns the message ids of the POSTs seen,
// the cut one first.
func cutPost(t *testing.T, ctx context.Context, stage fetch.RequestStage) func() []string {
	t.Helper()
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: "*/api/messages", RequestStage: stage},
	}}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var ids []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range paused {
			if err != nil {
				return
			}
			var body struct{ ID string }
			if ev.Request.Method == http.MethodPost && len(ev.Request.PostDataEntries) > 0 {
				_ = json.Unmarshal(ev.Request.PostDataEntries[0].Bytes, &body)
			}
			mu.Lock()
			first := len(ids) == 0
			ids = append(ids, body.ID)
			mu.Unlock()
			if first {
				_, err = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonConnectionReset})
			} else {
				_, err = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
			}
			if err != nil {
				return
			}
		}
	}()
	return func() []string {
		if _, err := chromedp.Call(ctx, fetch.Disable, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), ids...)
	}
}

// shot saves a phone-sized screenshot of the page (at twice the pixel density) to path,
// scrolled to the end of the conversation.
func shot(t *testing.T, p chatPage, path string) {
	t.Helper()
	p.do("phone screen", chromedp.EmulateViewport(400, 860, chromedp.EmulateScale(2)),
		chromedp.Evaluate[chromedp.Void](`document.activeElement.blur(); var s = document.getElementById('scroller'); s.scrollTop = s.scrollHeight;`))
	buf, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	p.do("back to the window's size", chromedp.ResetViewport())
	t.Logf("screenshot written to %s (%d bytes)", path, len(buf))
}
