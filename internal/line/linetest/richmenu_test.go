package linetest_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
)

// TestRichMenuRejected: rich menu objects that break the OpenAPI document or LINE's
// limits are answered 400 and recorded.
func TestRichMenuRejected(t *testing.T) {
	area := func(x, w int, action string) string {
		return `{"bounds":{"x":` + strconv.Itoa(x) + `,"y":0,"width":` + strconv.Itoa(w) + `,"height":843},"action":` + action + `}`
	}
	ok := `{"type":"postback","data":"c:restart"}`
	tests := []struct {
		name, body, want string
	}{
		{"size as text", `{"size":{"width":"2500","height":843},"selected":true,"name":"m","chatBarText":"menu","areas":[` + area(0, 2500, ok) + `]}`, "size"},
		{"no areas", `{"size":{"width":2500,"height":843},"selected":true,"name":"m","chatBarText":"menu","areas":[]}`, "areas"},
		{"area outside", `{"size":{"width":2500,"height":843},"selected":true,"name":"m","chatBarText":"menu","areas":[` + area(2000, 1000, ok) + `]}`, "bounds"},
		{"too tall", `{"size":{"width":1000,"height":843},"selected":true,"name":"m","chatBarText":"menu","areas":[` + area(0, 1000, ok) + `]}`, "height"},
		{"long chat bar text", `{"size":{"width":2500,"height":843},"selected":true,"name":"m","chatBarText":"メニューメニューメニューメニュー","areas":[` + area(0, 2500, ok) + `]}`, "chatBarText"},
		{"selected as text (schema)", `{"size":{"width":2500,"height":843},"selected":"yes","name":"m","chatBarText":"menu","areas":[` + area(0, 2500, ok) + `]}`, "selected"},
		{"unknown action type (schema)", `{"size":{"width":2500,"height":843},"selected":true,"name":"m","chatBarText":"menu","areas":[` + area(0, 2500, `{"type":"teleport"}`) + `]}`, "action"},
		{"postback without data", `{"size":{"width":2500,"height":843},"selected":true,"name":"m","chatBarText":"menu","areas":[` + area(0, 2500, `{"type":"postback"}`) + `]}`, "data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := linetest.New(t, linetest.Config{})
			res := postRaw(t, s, linetest.PathRichMenu, tt.body)
			res.Body.Close()
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("answered %d, want 400", res.StatusCode)
			}
			errs := s.TakeErrors()
			if len(errs) == 0 || !strings.Contains(errs[0].Error(), tt.want) {
				t.Errorf("errors %v, want one about %s", errs, tt.want)
			}
			if menus, _ := s.RichMenus(); len(menus) != 0 {
				t.Errorf("%d menus created", len(menus))
			}
		})
	}
}
