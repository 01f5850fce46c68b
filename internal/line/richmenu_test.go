package line

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
)

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestInstallRichMenu installs the rich menu against the LINE fake, whose request bodies
// are checked against the OpenAPI document: the menu gets its image and becomes the
// default; installing again replaces giftdesk's menu and leaves others alone.
func TestInstallRichMenu(t *testing.T) {
	fake := linetest.New(t, linetest.Config{})
	other := fake.AddRichMenu("campaign")
	earlier := fake.AddRichMenu(RichMenuName)
	cfg := RichMenuConfig{AccessToken: fake.Token(), APIBaseURL: fake.URL(), DataBaseURL: fake.URL()}
	ctx := context.Background()

	first, err := InstallRichMenu(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Deleted) != 1 || first.Deleted[0] != earlier {
		t.Errorf("deleted %v, want the earlier giftdesk menu %s", first.Deleted, earlier)
	}
	second, err := InstallRichMenu(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Deleted) != 1 || second.Deleted[0] != first.ID {
		t.Errorf("second run deleted %v, want the first run's menu %s", second.Deleted, first.ID)
	}
	menus, def := fake.RichMenus()
	if def != second.ID {
		t.Errorf("default menu %s, want %s", def, second.ID)
	}
	var ids []string
	for _, m := range menus {
		ids = append(ids, m.ID)
	}
	if len(menus) != 2 || !strings.Contains(strings.Join(ids, " "), other) || !strings.Contains(strings.Join(ids, " "), second.ID) {
		t.Fatalf("menus %v, want the other tool's %s and the new %s", ids, other, second.ID)
	}
	for _, m := range menus {
		if m.ID != second.ID {
			continue
		}
		if m.Image != "image/png" || m.ImageSize != image.Pt(2500, 843) {
			t.Errorf("image %q %v, want the shipped 2500×843 PNG", m.Image, m.ImageSize)
		}
		var data []string
		for _, a := range m.Request["areas"].([]any) {
			data = append(data, a.(map[string]any)["action"].(map[string]any)["data"].(string))
		}
		if got := strings.Join(data, " "); got != "c:restart c:help c:agent" {
			t.Errorf("buttons send %q, want the engine's restart, help and agent commands", got)
		}
	}
}

func TestInstallRichMenuImage(t *testing.T) {
	tests := []struct {
		name    string
		image   []byte
		want    image.Point
		wantErr string
	}{
		{name: "small size", image: pngOf(t, 1200, 405), want: image.Pt(1200, 405)},
		{name: "too narrow", image: pngOf(t, 700, 405), wantErr: "700×405"},
		{name: "too tall", image: pngOf(t, 1200, 1200), wantErr: "1200×1200"},
		{name: "not an image", image: []byte("GIF89a not really"), wantErr: "not a PNG or JPEG"},
		{name: "too large", image: make([]byte, 1<<20+1), wantErr: "at most 1 MB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := linetest.New(t, linetest.Config{})
			res, err := InstallRichMenu(context.Background(), RichMenuConfig{
				AccessToken: fake.Token(), APIBaseURL: fake.URL(), DataBaseURL: fake.URL(), Image: tt.image})
			menus, _ := fake.RichMenus()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want one naming %q", err, tt.wantErr)
				}
				if len(menus) != 0 {
					t.Errorf("%d menus created for a bad image", len(menus))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(menus) != 1 || menus[0].ID != res.ID || menus[0].ImageSize != tt.want {
				t.Errorf("menus %+v, want one of %v", menus, tt.want)
			}
		})
	}
}
