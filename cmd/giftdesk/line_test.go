package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/giftdesk/giftdesk/internal/line"
	"github.com/giftdesk/giftdesk/internal/line/linetest"
)

// TestLineRichMenu runs giftdesk line richmenu against the LINE fake (request bodies
// checked against the OpenAPI document): the shipped image, then --image, each run
// replacing the menu; bad settings are refused naming the variable.
func TestLineRichMenu(t *testing.T) {
	fake := linetest.New(t, linetest.Config{})
	env := map[string]string{"LINE_CHANNEL_ACCESS_TOKEN": fake.Token(), "LINE_API_BASE_URL": fake.URL(), "LINE_API_DATA_BASE_URL": fake.URL()}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := runLine(ctx, []string{"richmenu"}, getenv, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	menus, def := fake.RichMenus()
	if len(menus) != 1 || def != menus[0].ID || menus[0].ImageSize != image.Pt(2500, 843) || !strings.Contains(out.String(), def) {
		t.Fatalf("menus %+v, default %q, output %q; want the shipped menu as the default", menus, def, out.String())
	}

	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 1200, 405))); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "menu.png")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runLine(ctx, []string{"richmenu", "--image", file}, getenv, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	menus, def = fake.RichMenus()
	if len(menus) != 1 || def != menus[0].ID || menus[0].ImageSize != image.Pt(1200, 405) || !strings.Contains(out.String(), "replaced 1") {
		t.Fatalf("menus %+v, default %q, output %q; want the --image menu replacing the first", menus, def, out.String())
	}

	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no token", []string{"richmenu"}, map[string]string{"LINE_CHANNEL_ACCESS_TOKEN": ""}, "LINE_CHANNEL_ACCESS_TOKEN"},
		{"bad data URL", []string{"richmenu"}, map[string]string{"LINE_API_DATA_BASE_URL": "ftp://user:pw@x"}, "LINE_API_DATA_BASE_URL"},
		{"missing image", []string{"richmenu", "--image", filepath.Join(t.TempDir(), "none.png")}, nil, "--image"},
		{"not an image", []string{"richmenu", "--image", os.Args[0]}, nil, "rich menu image"},
		{"unknown subcommand", []string{"menu"}, nil, "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string {
				if v, ok := tt.env[k]; ok {
					return v
				}
				return env[k]
			}
			errOut.Reset()
			err := runLine(ctx, tt.args, getenv, &out, &errOut)
			if err == nil || !strings.Contains(err.Error()+errOut.String(), tt.want) {
				t.Errorf("error %v (%s), want one naming %s", err, errOut.String(), tt.want)
			}
			if strings.Contains(errOut.String()+err.Error(), "pw@") {
				t.Errorf("credentials in the error: %v", err)
			}
		})
	}
	if menus, _ := fake.RichMenus(); len(menus) != 1 {
		t.Errorf("%d menus after refused runs, want 1", len(menus))
	}
}

// TestServeRichMenuButtons taps each button of the installed menu, as a new customer and
// in the middle of a diagnosis: the flow understands every one.
func TestServeRichMenuButtons(t *testing.T) {
	fake := linetest.New(t, linetest.Config{})
	if _, err := line.InstallRichMenu(context.Background(), line.RichMenuConfig{
		AccessToken: fake.Token(), APIBaseURL: fake.URL(), DataBaseURL: fake.URL()}); err != nil {
		t.Fatal(err)
	}
	menus, _ := fake.RichMenus()
	var data []string
	for _, a := range menus[0].Request["areas"].([]any) {
		data = append(data, a.(map[string]any)["action"].(map[string]any)["data"].(string))
	}
	s := startServe(t, fake, filepath.Join(t.TempDir(), "giftdesk.db"), nil)
	for i, d := range data {
		for _, lang := range []string{"ja", "en"} {
			user := "U" + strings.Repeat("c", 30) + lang + string(rune('0'+i))
			fake.SetProfile(user, linetest.Profile{DisplayName: "客", Language: lang})
			msgs := s.say(user, s.textEvent(user, "ギフト券が使えない"), 1)
			msgs = s.say(user, s.postbackEvent(user, d), len(msgs)+1)
			all := texts(msgs)
			for _, miss := range []string{"うまく読み取れません", "didn't catch that"} {
				if strings.Contains(all, miss) {
					t.Errorf("button %s (%s) not understood:\n%s", d, lang, all)
				}
			}
		}
	}
	if len(fake.Errors()) > 0 {
		t.Errorf("invalid requests: %+v", fake.Errors())
	}
}
