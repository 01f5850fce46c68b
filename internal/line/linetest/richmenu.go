package linetest

import (
	"bytes"
	"image"
	_ "image/jpeg" // LINE takes rich menu images in JPEG or PNG
	_ "image/png"
	"mime"
	"net/http"
	"sort"
	"unicode/utf8"
)

// The rich menu endpoints the fake implements (the image upload is on LINE's api-data
// host; point the blob client at the same fake).
const (
	PathRichMenu        = "/v2/bot/richmenu"
	PathRichMenuList    = "/v2/bot/richmenu/list"
	PathRichMenuID      = "/v2/bot/richmenu/{richMenuId}"
	PathRichMenuImage   = "/v2/bot/richmenu/{richMenuId}/content"
	PathDefaultRichMenu = "/v2/bot/user/all/richmenu/{richMenuId}"
	PathDefaultMenu     = "/v2/bot/user/all/richmenu"
)

// LINE's rich menu limits (Messaging API reference, "Rich menu object" and "Upload rich
// menu image").
const (
	maxRichMenuImage   = 1 << 20 // bytes
	maxRichMenuAreas   = 20
	maxChatBarText     = 14
	maxRichMenuName    = 300
	minRichMenuWidth   = 800
	maxRichMenuWidth   = 2500
	minRichMenuHeight  = 250
	minRichMenuAspect  = 1.45 // width / height
	maxRichMenusPerBot = 1000
)

// RichMenu is a rich menu the fake holds.
type RichMenu struct {
	ID      string
	Request map[string]any // the body it was created with
	Name    string
	// Image is the uploaded image's content type, "" before the upload; ImageSize its
	// size in pixels.
	Image     string
	ImageSize image.Point
}

// richMenus is the fake's rich menu state, under Server.mu.
type richMenus struct {
	menus       map[string]*RichMenu
	defaultMenu string
}

func (s *Server) richMenuRoutes() []route {
	return []route{
		{method: http.MethodPost, path: PathRichMenu, limits: checkRichMenuLimits, serve: (*Server).serveCreateRichMenu},
		{method: http.MethodGet, path: PathRichMenuList, serve: (*Server).serveRichMenuList},
		{method: http.MethodDelete, path: PathRichMenuID, serve: (*Server).serveDeleteRichMenu},
		{method: http.MethodPost, path: PathRichMenuImage, serve: (*Server).serveRichMenuImage},
		{method: http.MethodPost, path: PathDefaultRichMenu, serve: (*Server).serveSetDefaultRichMenu},
		{method: http.MethodGet, path: PathDefaultMenu, serve: (*Server).serveGetDefaultRichMenu},
	}
}

// richLocked returns the rich menu state, made on first use; s.mu must be held.
func (s *Server) richLocked() *richMenus {
	if s.rich == nil {
		s.rich = &richMenus{menus: map[string]*RichMenu{}}
	}
	return s.rich
}

// RichMenus returns the rich menus the fake holds, by id order, and the default's id.
func (s *Server) RichMenus() (menus []RichMenu, defaultID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rm := s.richLocked()
	for _, m := range rm.menus {
		menus = append(menus, *m)
	}
	sort.Slice(menus, func(i, j int) bool { return menus[i].ID < menus[j].ID })
	return menus, rm.defaultMenu
}

// AddRichMenu adds a rich menu as if created earlier (by another tool, or an earlier
// run), and returns its id.
func (s *Server) AddRichMenu(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := "richmenu-" + randomHex(16)
	s.richLocked().menus[id] = &RichMenu{ID: id, Name: name, Request: map[string]any{"name": name}, Image: "image/png"}
	return id
}

func (s *Server) serveCreateRichMenu(_ *http.Request, c *Call) response {
	body := c.JSON.(map[string]any) // validate ensured it
	rm := s.richLocked()
	if len(rm.menus) >= maxRichMenusPerBot {
		return errorResponse(http.StatusBadRequest, "Too many rich menus")
	}
	id := "richmenu-" + randomHex(16)
	name, _ := body["name"].(string)
	rm.menus[id] = &RichMenu{ID: id, Request: body, Name: name}
	return response{status: http.StatusOK, body: map[string]string{"richMenuId": id}}
}

func (s *Server) serveRichMenuList(_ *http.Request, _ *Call) response {
	rm := s.richLocked()
	list := []map[string]any{}
	for _, m := range rm.menus {
		if m.Image == "" {
			continue // LINE lists only menus with an image
		}
		item := map[string]any{"richMenuId": m.ID}
		for k, v := range m.Request {
			item[k] = v
		}
		list = append(list, item)
	}
	sort.Slice(list, func(i, j int) bool { return list[i]["richMenuId"].(string) < list[j]["richMenuId"].(string) })
	return response{status: http.StatusOK, body: map[string]any{"richmenus": list}}
}

func (s *Server) serveDeleteRichMenu(r *http.Request, _ *Call) response {
	rm := s.richLocked()
	id := r.PathValue("richMenuId")
	if rm.menus[id] == nil {
		return errorResponse(http.StatusNotFound, msgNotFound)
	}
	delete(rm.menus, id)
	if rm.defaultMenu == id {
		rm.defaultMenu = ""
	}
	return response{status: http.StatusOK, body: map[string]any{}}
}

// serveRichMenuImage checks an upload as LINE does: JPEG or PNG, at most 1 MB, the size
// the menu was created with, once per menu.
func (s *Server) serveRichMenuImage(r *http.Request, c *Call) response {
	rm := s.richLocked()
	m := rm.menus[r.PathValue("richMenuId")]
	if m == nil {
		return errorResponse(http.StatusNotFound, msgNotFound)
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "image/png" && mt != "image/jpeg" {
		return s.invalidLocked(c, Detail{Property: "Content-Type", Message: "must be image/png or image/jpeg"})
	}
	if len(c.Body) > maxRichMenuImage {
		return s.invalidLocked(c, Detail{Message: "image must be at most 1 MB"})
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(c.Body))
	if err != nil || "image/"+format != mt {
		return s.invalidLocked(c, Detail{Message: "body is not a " + mt + " image"})
	}
	if want, ok := menuSize(m.Request); !ok || cfg.Width != want.X || cfg.Height != want.Y {
		return s.invalidLocked(c, Detail{Message: "image size must match the rich menu's size"})
	}
	if m.Image != "" {
		return errorResponse(http.StatusBadRequest, "An image has already been uploaded to the richmenu")
	}
	m.Image, m.ImageSize = mt, image.Pt(cfg.Width, cfg.Height)
	return response{status: http.StatusOK, body: map[string]any{}}
}

// invalidLocked records a request LINE would refuse as a validation error and answers 400.
func (s *Server) invalidLocked(c *Call, d Detail) response {
	s.errs = append(s.errs, ValidationError{Method: c.Method, Path: c.Path, RequestID: c.RequestID, Details: []Detail{d}})
	return response{status: http.StatusBadRequest, body: errorBody{Message: "The request body has 1 error(s)", Details: []Detail{d}}}
}

func (s *Server) serveSetDefaultRichMenu(r *http.Request, _ *Call) response {
	rm := s.richLocked()
	m := rm.menus[r.PathValue("richMenuId")]
	if m == nil {
		return errorResponse(http.StatusNotFound, msgNotFound)
	}
	if m.Image == "" {
		return errorResponse(http.StatusBadRequest, "must upload richmenu image before applying it to user")
	}
	rm.defaultMenu = m.ID
	return response{status: http.StatusOK, body: map[string]any{}}
}

func (s *Server) serveGetDefaultRichMenu(_ *http.Request, _ *Call) response {
	rm := s.richLocked()
	if rm.defaultMenu == "" {
		return errorResponse(http.StatusNotFound, "no default richmenu")
	}
	return response{status: http.StatusOK, body: map[string]string{"richMenuId": rm.defaultMenu}}
}

// menuSize returns the size of a rich menu request.
func menuSize(body map[string]any) (image.Point, bool) {
	size, ok := body["size"].(map[string]any)
	if !ok {
		return image.Point{}, false
	}
	w, wok := size["width"].(float64)
	h, hok := size["height"].(float64)
	return image.Pt(int(w), int(h)), wok && hok
}

// checkRichMenuLimits checks a rich menu object against LINE's limits the OpenAPI
// document does not state: the size, the areas inside it, and the lengths of texts.
func checkRichMenuLimits(body map[string]any) []Detail {
	var c limitChecker
	size, ok := menuSize(body)
	switch {
	case !ok:
		c.addf([]pathSeg{{key: "size"}}, "must be specified")
	case size.X < minRichMenuWidth || size.X > maxRichMenuWidth:
		c.addf([]pathSeg{{key: "size"}, {key: "width"}}, "must be between %d and %d", minRichMenuWidth, maxRichMenuWidth)
	case size.Y < minRichMenuHeight || float64(size.X)/float64(size.Y) < minRichMenuAspect:
		c.addf([]pathSeg{{key: "size"}, {key: "height"}}, "must be at least %d and make width/height at least %.2f", minRichMenuHeight, minRichMenuAspect)
	}
	if t, _ := body["chatBarText"].(string); utf8.RuneCountInString(t) > maxChatBarText || t == "" {
		c.addf([]pathSeg{{key: "chatBarText"}}, "must be 1 to %d characters", maxChatBarText)
	}
	if n, _ := body["name"].(string); utf8.RuneCountInString(n) > maxRichMenuName || n == "" {
		c.addf([]pathSeg{{key: "name"}}, "must be 1 to %d characters", maxRichMenuName)
	}
	areas, _ := body["areas"].([]any)
	if len(areas) < 1 || len(areas) > maxRichMenuAreas {
		c.addf([]pathSeg{{key: "areas"}}, "size must be between 1 and %d", maxRichMenuAreas)
	}
	for i, a := range areas {
		area, _ := a.(map[string]any)
		path := []pathSeg{{key: "areas"}, {index: i}}
		b, _ := area["bounds"].(map[string]any)
		num := func(k string) int { f, _ := b[k].(float64); return int(f) }
		x, y, w, h := num("x"), num("y"), num("width"), num("height")
		if b == nil || x < 0 || y < 0 || w <= 0 || h <= 0 || ok && (x+w > size.X || y+h > size.Y) {
			c.addf(appendPath(path, pathSeg{key: "bounds"}), "must lie inside the rich menu")
		}
		act, _ := area["action"].(map[string]any)
		apath := appendPath(path, pathSeg{key: "action"})
		if l, _ := act["label"].(string); utf8.RuneCountInString(l) > maxActionLabel {
			c.addf(appendPath(apath, pathSeg{key: "label"}), "must be at most %d characters", maxActionLabel)
		}
		if act["type"] == "postback" {
			if d, _ := act["data"].(string); d == "" || utf8.RuneCountInString(d) > maxActionData {
				c.addf(appendPath(apath, pathSeg{key: "data"}), "must be 1 to %d characters", maxActionData)
			}
			if t, _ := act["displayText"].(string); utf8.RuneCountInString(t) > maxActionText {
				c.addf(appendPath(apath, pathSeg{key: "displayText"}), "must be at most %d characters", maxActionText)
			}
		}
	}
	return c.details
}
