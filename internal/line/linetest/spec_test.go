package linetest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func loadTestSpec(t *testing.T) *Spec {
	t.Helper()
	spec, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestDiscriminatorWalkIsNeeded shows that kin-openapi alone accepts each body, and that
// Spec.validate, which follows the discriminators, rejects it at the right property.
func TestDiscriminatorWalkIsNeeded(t *testing.T) {
	spec := loadTestSpec(t)
	base, err := spec.requestSchema(http.MethodPost, PathReply)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		messages     string
		wantProperty string
	}{
		{
			name:         "text message missing text",
			messages:     `[{"type":"text"}]`,
			wantProperty: "messages[0].text",
		},
		{
			name:         "unknown message type",
			messages:     `[{"type":"txt"}]`,
			wantProperty: "messages[0].type",
		},
		{
			name:         "postback data over 300 characters in a quick reply",
			messages:     `[{"type":"text","text":"x","quickReply":{"items":[{"type":"action","action":{"type":"postback","label":"x","data":"` + strings.Repeat("d", 301) + `"}}]}}]`,
			wantProperty: "messages[0].quickReply.items[0].action.data",
		},
		{
			name:         "unknown action type",
			messages:     `[{"type":"text","text":"x","quickReply":{"items":[{"type":"action","action":{"type":"postbak"}}]}}]`,
			wantProperty: "messages[0].quickReply.items[0].action.type",
		},
		{
			name:         "flex box missing contents",
			messages:     `[{"type":"flex","altText":"a","contents":{"type":"bubble","body":{"type":"box","layout":"vertical"}}}]`,
			wantProperty: "messages[0].contents.body.contents",
		},
		{
			name:         "flex button in a box missing action",
			messages:     `[{"type":"flex","altText":"a","contents":{"type":"bubble","body":{"type":"box","layout":"vertical","contents":[{"type":"button"}]}}}]`,
			wantProperty: "messages[0].contents.body.contents[0].action",
		},
		{
			name:         "flex button with a bad enum in a carousel",
			messages:     `[{"type":"flex","altText":"a","contents":{"type":"carousel","contents":[{"type":"bubble","footer":{"type":"box","layout":"vertical","contents":[{"type":"button","style":"loud","action":{"type":"uri","label":"x","uri":"https://example.com/"}}]}}]}}]`,
			wantProperty: "messages[0].contents.contents[0].footer.contents[0].style",
		},
		{
			name:         "template action of unknown type",
			messages:     `[{"type":"template","altText":"a","template":{"type":"buttons","text":"t","actions":[{"type":"nope","label":"x"}]}}]`,
			wantProperty: "messages[0].template.actions[0].type",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body map[string]any
			if err := json.Unmarshal([]byte(`{"replyToken":"t","messages":`+tc.messages+`}`), &body); err != nil {
				t.Fatal(err)
			}
			if err := base.VisitJSON(body, openapi3.MultiErrors()); err != nil {
				t.Fatalf("kin-openapi alone already rejects the body, so this case proves nothing: %v", err)
			}
			details, err := spec.validate(http.MethodPost, PathReply, body)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(details, func(d Detail) bool { return d.Property == tc.wantProperty }) {
				t.Errorf("details = %v, want one for %s", details, tc.wantProperty)
			}
		})
	}
}

func TestSpecAcceptsValidBodies(t *testing.T) {
	spec := loadTestSpec(t)
	tests := []struct {
		name string
		path string
		body string
	}{
		{
			name: "reply with every kind of quick reply action",
			path: PathReply,
			body: `{"replyToken":"t","messages":[{"type":"text","text":"x","quickReply":{"items":[
				{"type":"action","action":{"type":"postback","label":"a","data":"d","displayText":"a"}},
				{"type":"action","action":{"type":"message","label":"b","text":"b"}},
				{"type":"action","action":{"type":"uri","label":"c","uri":"https://example.com/"}},
				{"type":"action","action":{"type":"camera","label":"d"}},
				{"type":"action","action":{"type":"location","label":"e"}}]}}]}`,
		},
		{
			name: "push of a flex carousel",
			path: PathPush,
			body: `{"to":"U1","messages":[{"type":"flex","altText":"a","contents":{"type":"carousel","contents":[
				{"type":"bubble","body":{"type":"box","layout":"vertical","contents":[{"type":"text","text":"1"},{"type":"separator"},{"type":"filler"}]}},
				{"type":"bubble","hero":{"type":"image","url":"https://example.com/a.png"},"footer":{"type":"box","layout":"horizontal","contents":[{"type":"button","style":"primary","action":{"type":"postback","label":"Go","data":"go"}}]}}]}}]}`,
		},
		{
			name: "loading animation",
			path: PathLoading,
			body: `{"chatId":"U1","loadingSeconds":20}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body map[string]any
			if err := json.Unmarshal([]byte(tc.body), &body); err != nil {
				t.Fatal(err)
			}
			details, err := spec.validate(http.MethodPost, tc.path, body)
			if err != nil || len(details) != 0 {
				t.Errorf("validate = %v, %v; want no problems", details, err)
			}
		})
	}
}
