package line

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // LINE takes rich menu images in JPEG or PNG
	_ "image/png"
	"net/http"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
)

// RichMenuName is the name of giftdesk's rich menu. InstallRichMenu replaces the menus of
// this name an earlier run left.
const RichMenuName = "giftdesk"

// RichMenuImage is the image shipped for the rich menu: 2500×843 pixels, three buttons
// labelled in Japanese and English (「最初から / Start over」「よくある質問 / FAQ」
// 「担当者と話す / Talk to a person」), drawn by tools/richmenu.
//
//go:embed richmenu.png
var RichMenuImage []byte

// The rich menu's buttons, left to right, as postbacks the engine understands (its global
// commands, see bot.Engine): one menu serves Japanese and English customers, so each
// label (read by screen readers, never shown) is in both languages and no display text is
// sent: the engine answers in the customer's language.
var richMenuButtons = []struct{ label, data string }{
	{"最初から / Start over", "c:restart"},
	{"よくある質問 / FAQ", "c:help"},
	{"担当者と話す / Agent", "c:agent"},
}

// LINE's limits on rich menu images.
const (
	maxRichMenuImage  = 1 << 20
	minRichMenuWidth  = 800
	maxRichMenuWidth  = 2500
	minRichMenuHeight = 250
	minRichMenuAspect = 1.45
)

// RichMenuConfig configures InstallRichMenu. A zero field means the default.
type RichMenuConfig struct {
	AccessToken string // required
	// APIBaseURL is the Messaging API's base URL; default https://api.line.me.
	APIBaseURL string
	// DataBaseURL is the base URL of LINE's api-data host, where images are uploaded;
	// default https://api-data.line.me.
	DataBaseURL string
	// HTTPClient calls LINE; default a client with a 30s timeout.
	HTTPClient *http.Client
	// Image is the menu's image, PNG or JPEG, whose size becomes the menu's (800 to 2500
	// pixels wide, at least 250 high, width/height at least 1.45, at most 1 MB); its
	// width is split into three buttons. Default RichMenuImage.
	Image []byte
}

// RichMenuResult is what InstallRichMenu did.
type RichMenuResult struct {
	ID      string   // the new menu, now the default
	Deleted []string // the menus of earlier runs, deleted
}

// InstallRichMenu creates giftdesk's rich menu, uploads its image, makes it the default
// for every user and then deletes the menus named RichMenuName that were there before, so
// running it again replaces the menu rather than adding one, and customers are never left
// without one. A bad image is refused before anything is created. When a step fails,
// what was already done stays (a menu created without an image is not listed by LINE and
// not shown to anyone).
func InstallRichMenu(ctx context.Context, cfg RichMenuConfig) (RichMenuResult, error) {
	if cfg.AccessToken == "" {
		return RichMenuResult{}, errors.New("rich menu: access token is required")
	}
	if cfg.APIBaseURL == "" {
		cfg.APIBaseURL = "https://api.line.me"
	}
	if cfg.DataBaseURL == "" {
		cfg.DataBaseURL = "https://api-data.line.me"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Image == nil {
		cfg.Image = RichMenuImage
	}
	size, contentType, err := checkRichMenuImage(cfg.Image)
	if err != nil {
		return RichMenuResult{}, err
	}
	api, err := messaging_api.NewMessagingApiAPI(cfg.AccessToken,
		messaging_api.WithEndpoint(cfg.APIBaseURL), messaging_api.WithHTTPClient(cfg.HTTPClient))
	if err != nil {
		return RichMenuResult{}, fmt.Errorf("rich menu: %w", err)
	}
	api = api.WithContext(ctx)
	blob, err := messaging_api.NewMessagingApiBlobAPI(cfg.AccessToken,
		messaging_api.WithBlobEndpoint(cfg.DataBaseURL), messaging_api.WithBlobHTTPClient(cfg.HTTPClient))
	if err != nil {
		return RichMenuResult{}, fmt.Errorf("rich menu: %w", err)
	}
	blob = blob.WithContext(ctx)

	list, err := api.GetRichMenuList()
	if err != nil {
		return RichMenuResult{}, fmt.Errorf("list rich menus: %w", err)
	}
	var old []string
	for _, m := range list.Richmenus {
		if m.Name == RichMenuName {
			old = append(old, m.RichMenuId)
		}
	}
	created, err := api.CreateRichMenu(richMenuRequest(size))
	if err != nil {
		return RichMenuResult{}, fmt.Errorf("create rich menu: %w", err)
	}
	res := RichMenuResult{ID: created.RichMenuId}
	if _, err := blob.SetRichMenuImage(res.ID, contentType, bytes.NewReader(cfg.Image)); err != nil {
		return res, fmt.Errorf("upload rich menu image: %w", err)
	}
	if _, err := api.SetDefaultRichMenu(res.ID); err != nil {
		return res, fmt.Errorf("set default rich menu: %w", err)
	}
	for _, id := range old {
		if _, err := api.DeleteRichMenu(id); err != nil {
			return res, fmt.Errorf("delete old rich menu %s: %w", id, err)
		}
		res.Deleted = append(res.Deleted, id)
	}
	return res, nil
}

// checkRichMenuImage returns the size and content type of a rich menu image, or why LINE
// would refuse it.
func checkRichMenuImage(b []byte) (image.Point, string, error) {
	if len(b) > maxRichMenuImage {
		return image.Point{}, "", fmt.Errorf("rich menu image: %d bytes, LINE takes at most 1 MB", len(b))
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return image.Point{}, "", fmt.Errorf("rich menu image: not a PNG or JPEG image: %w", err)
	}
	w, h := cfg.Width, cfg.Height
	if w < minRichMenuWidth || w > maxRichMenuWidth || h < minRichMenuHeight || float64(w)/float64(h) < minRichMenuAspect {
		return image.Point{}, "", fmt.Errorf("rich menu image: %d×%d pixels; LINE wants %d to %d wide, at least %d high, width/height at least %.2f (e.g. 2500×843 or 1200×405)",
			w, h, minRichMenuWidth, maxRichMenuWidth, minRichMenuHeight, minRichMenuAspect)
	}
	return image.Pt(w, h), "image/" + format, nil
}

// richMenuRequest is the menu for an image of size: three buttons side by side.
func richMenuRequest(size image.Point) *messaging_api.RichMenuRequest {
	req := &messaging_api.RichMenuRequest{
		Size:        &messaging_api.RichMenuSize{Width: int64(size.X), Height: int64(size.Y)},
		Selected:    true,
		Name:        RichMenuName,
		ChatBarText: "メニュー / Menu",
	}
	n := len(richMenuButtons)
	col := size.X / n
	for i, b := range richMenuButtons {
		w := col
		if i == n-1 {
			w = size.X - col*(n-1)
		}
		req.Areas = append(req.Areas, messaging_api.RichMenuArea{
			Bounds: &messaging_api.RichMenuBounds{X: int64(i * col), Y: 0, Width: int64(w), Height: int64(size.Y)},
			Action: &messaging_api.PostbackAction{Label: b.label, Data: b.data},
		})
	}
	return req
}
