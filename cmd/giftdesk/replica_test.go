package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/line/linetest"
	"github.com/giftdesk/giftdesk/internal/settle"
	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
	"github.com/giftdesk/giftdesk/internal/store/postgres"
)

// postgresURL returns a database URL with a fresh schema of its own for this test, dropped
// at cleanup, or skips the test when GIFTDESK_TEST_POSTGRES is not set.
func postgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("GIFTDESK_TEST_POSTGRES")
	if base == "" {
		t.Skip("set GIFTDESK_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the PostgreSQL replica tests")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to GIFTDESK_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("giftdesk_replica_%x", rand.Uint64())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Error(err)
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// replicaEnv is the environment of a giftdesk replica on db.
func replicaEnv(fake *linetest.Server, db string) map[string]string {
	return map[string]string{
		"GIFTDESK_DB": db, "LINE_CHANNEL_SECRET": testSecret, "LINE_CHANNEL_ACCESS_TOKEN": fake.Token(),
		"LINE_API_BASE_URL": fake.URL(), "GIFTDESK_LEASE": "2s",
	}
}

// script is one customer's conversation: what they type, in order.
var scripts = [][]string{
	{"ギフト券が使えません", "1", "2", "1"},
	{"期限切れかも", "平成28年5月", "1"},
	{"it says already used", "2", "2"},
	{"残高が足りない", "3,000円", "3500円", "1"},
	{"登録できない", "スマホ", "いいえ", "最初から", "4"},
}

// TestReplicasOnPostgres runs two giftdesk replicas on one PostgreSQL database and sends
// every customer's events to both (each event twice: once to each, sequentially or at
// once), interleaving users with random delays. Every event must be answered exactly once,
// and every conversation must end where a sequential replay on one replica ends.
func TestReplicasOnPostgres(t *testing.T) {
	db := postgresURL(t)
	fake := linetest.New(t, linetest.Config{})
	a := startServeWith(t, fake, replicaEnv(fake, db), &syncBuffer{})
	b := startServeWith(t, fake, replicaEnv(fake, db), &syncBuffer{})

	var wg sync.WaitGroup
	events := 0
	for i, script := range scripts {
		user := fmt.Sprintf("U%032x", 0xa00+i)
		events += len(script)
		wg.Go(func() {
			for j, text := range script {
				ev := a.textEvent(user, text)
				// Each answer waits for the previous one, as a person would.
				before := len(fake.Delivered(user))
				switch j % 3 {
				case 0: // to a, then redelivered to b
					a.post(ev)
					b.post(ev)
				case 1: // to both at once
					var both sync.WaitGroup
					both.Go(func() { a.post(ev) })
					both.Go(func() { b.post(ev) })
					both.Wait()
				default: // to b, then a
					b.post(ev)
					a.post(ev)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				err := fake.WaitFor(ctx, func() bool { return len(fake.Delivered(user)) > before })
				cancel()
				if err != nil {
					t.Errorf("%s: no answer to %q", user, text)
					return
				}
			}
		})
	}
	wg.Wait()
	waitDrained(t, db) // a wrong second answer would be out by then
	if got := accepted(fake); got != events {
		t.Errorf("%d answers to %d events sent twice each, want %d", got, events, events)
	}

	// Compare with a sequential replay through one engine.
	st, err := postgres.New(context.Background(), postgres.Config{URL: db})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	engine, err := newEngine(30 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for i, script := range scripts {
		key := bot.Key{Channel: "line", User: fmt.Sprintf("U%032x", 0xa00+i)}
		got, err := st.Conversation(context.Background(), key)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		want := &bot.Conversation{Key: key}
		for _, text := range script {
			if _, err := engine.Step(context.Background(), want, bot.Inbound{Kind: bot.InText, Text: text}); err != nil {
				t.Fatal(err)
			}
		}
		if got.Node != want.Node || !slices.Equal(got.Path, want.Path) || len(got.Answers) != len(want.Answers) {
			t.Errorf("%s: replicas ended at %s via %v, a sequential replay at %s via %v", key, got.Node, got.Path, want.Node, want.Path)
		}
	}
}

// TestReplicaCrashUnderLoad kills one of two replicas with SIGKILL again and again while
// customers keep writing to both; afterwards every acknowledged event has been answered
// exactly once, counted at the fake LINE API.
func TestReplicaCrashUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	db := postgresURL(t)
	fake := linetest.New(t, linetest.Config{})
	env := replicaEnv(fake, db)
	// No lease expires during the test: what a killed victim leaves is taken over because
	// its owner is dead (liveness), not because its lease ran out.
	env["GIFTDESK_LEASE"] = "1h"
	steady := startProcess(t, env)
	victim := startProcess(t, env)

	const users, perUser = 12, 10
	var (
		mu    sync.Mutex
		acked int
		done  = make(chan struct{})
		// twoKills closes after the victim's second kill: the customers' last messages
		// wait for it, so the writing spans several kills however slowly the replicas start.
		twoKills = make(chan struct{})
	)
	current := func() string {
		mu.Lock()
		defer mu.Unlock()
		return victim.url
	}
	s := &lineServer{t: t, fake: fake, url: steady.url, secret: testSecret}
	var senders sync.WaitGroup
	for u := range users {
		user := fmt.Sprintf("U%032x", 0xb00+u)
		senders.Go(func() {
			// A customer writes every 250ms, so the writing spans several kills.
			pace := time.NewTicker(250 * time.Millisecond)
			defer pace.Stop()
			for j := range perUser {
				if j == perUser-1 {
					<-twoKills
				}
				ev := s.textEvent(user, []string{"ギフト券が使えません", "1", "2", "いいえ", "最初から", "5", "3", "1", "戻る", "ヘルプ"}[j])
				target := steady.url
				if j%2 == 1 {
					target = current()
				}
				// A replica that is down (or dies mid-request) is not acknowledging: LINE
				// redelivers, here to the steady one.
				if postTo(target, ev) == http.StatusOK || postTo(steady.url, ev) == http.StatusOK {
					mu.Lock()
					acked++
					mu.Unlock()
				}
				<-pace.C
			}
		})
	}
	go func() { senders.Wait(); close(done) }()
	// Meanwhile SIGKILL the victim every 400ms and start it again.
	killed := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-time.After(400 * time.Millisecond):
			victim.cmd.Process.Signal(syscall.SIGKILL)
			victim.cmd.Wait()
			killed++
			if killed == 2 {
				close(twoKills)
			}
			nv := startProcess(t, env)
			mu.Lock()
			victim = nv
			mu.Unlock()
		}
	}
	if killed < 2 {
		t.Fatalf("the victim was killed %d times, want at least 2", killed)
	}
	total := acked
	// Every acknowledged event is answered exactly once: one reply or push per event.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := fake.WaitFor(ctx, func() bool { return accepted(fake) >= total }); err != nil {
		t.Fatalf("%d of %d acknowledged events answered: %v", accepted(fake), total, err)
	}
	waitDrained(t, db)
	if got := accepted(fake); got != total {
		t.Errorf("%d answers to %d acknowledged events", got, total)
	}
}

// postTo sends one signed event to a replica and returns the status (0 when the replica
// is down).
func postTo(base string, ev event) int {
	body, _ := json.Marshal(map[string]any{"events": []event{ev}})
	req, err := http.NewRequest(http.MethodPost, base+"/line/webhook", strings.NewReader(string(body)))
	if err != nil {
		return 0
	}
	req.Header.Set("X-Line-Signature", linetest.Sign(testSecret, body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// TestHandoffAcrossReplicas: the customer asks for a person through one replica; the agent
// claims and answers through the other; the answer reaches the customer once.
func TestHandoffAcrossReplicas(t *testing.T) {
	db := postgresURL(t)
	fake := linetest.New(t, linetest.Config{})
	slack := slacktest.NewServer()
	t.Cleanup(slack.Close)
	slack.Join("CHANDOFF")
	slack.AddMembers("CHANDOFF", "UAGENT") // ticket buttons count for members only
	a := startDesk(t, fake, slack, db, nil)
	b := startDesk(t, fake, slack, db, nil)
	customer := "U" + strings.Repeat("9", 32)
	msgs := a.say(customer, a.textEvent(customer, "こんにちは"), 2)
	a.say(customer, a.textEvent(customer, "担当者と話したい"), len(msgs)+1)
	ctx := waitCtx(t)
	roots, err := slack.WaitMessages(ctx, "CHANDOFF", 1)
	if err != nil {
		t.Fatal(err)
	}
	root := roots[0]
	st, err := postgres.New(ctx, postgres.Config{URL: db})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := settle.Until(ctx, func() (bool, error) {
		_, _, err := st.ThreadTicket(ctx, root.Channel+":"+root.TS)
		return err == nil, nil
	}); err != nil {
		t.Fatalf("the ticket was never linked: %v", err)
	}
	if code := b.press(root, "UAGENT", "claim"); code != http.StatusOK {
		t.Fatalf("claim through the other replica answered %d", code)
	}
	if _, err := slack.WaitUpdated(ctx, "CHANDOFF", root.TS, 1); err != nil {
		t.Fatal(err)
	}
	before := len(fake.Delivered(customer))
	b.agentSays(root, "UAGENT", "担当の佐藤です。確認します")
	got, err := fake.WaitDelivered(ctx, customer, before+1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got[len(got)-1].Text, "担当の佐藤です") {
		t.Errorf("the customer got %q", got[len(got)-1].Text)
	}
	waitDrained(t, db)
	if n := len(fake.Delivered(customer)); n != before+1 {
		t.Errorf("the agent's answer arrived %d times", n-before)
	}
}
