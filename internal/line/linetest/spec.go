package linetest

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// messagingAPI is LINE's Messaging API OpenAPI document, copied into testdata (see
// testdata/NOTICE) so that request validation cannot silently go missing.
//
//go:embed testdata/messaging-api.yml
var messagingAPI []byte

// Spec is a loaded LINE Messaging API OpenAPI document that validates request bodies.
// It is read-only once loaded and safe for concurrent use, so one Spec may be shared by
// many Servers through Config.Spec.
type Spec struct {
	doc *openapi3.T
}

// LoadSpec parses and resolves LINE's Messaging API OpenAPI document, which is compiled
// into the package from testdata/messaging-api.yml. Loading takes a noticeable fraction of
// a second; share the result through Config.Spec when starting many Servers.
func LoadSpec() (*Spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(messagingAPI)
	if err != nil {
		return nil, fmt.Errorf("load openapi spec: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate openapi spec: %w", err)
	}
	return &Spec{doc: doc}, nil
}

// requestSchema returns the application/json request body schema of the operation at
// the path template (as written in the spec, e.g. "/v2/bot/message/reply").
func (sp *Spec) requestSchema(method, pathTemplate string) (*openapi3.Schema, error) {
	item := sp.doc.Paths.Value(pathTemplate)
	if item == nil {
		return nil, fmt.Errorf("spec has no path %s", pathTemplate)
	}
	op := item.GetOperation(method)
	if op == nil || op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil, fmt.Errorf("spec has no request body for %s %s", method, pathTemplate)
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return nil, fmt.Errorf("spec has no application/json schema for %s %s", method, pathTemplate)
	}
	return mt.Schema.Value, nil
}

// Detail is one problem found in a request, shaped like LINE's error detail object:
// Property is a path such as "messages[0].quickReply.items[1].action.label".
type Detail struct {
	Property string `json:"property,omitempty"`
	Message  string `json:"message"`
}

func (d Detail) String() string {
	if d.Property == "" {
		return d.Message
	}
	return d.Property + ": " + d.Message
}

// validate checks body (decoded JSON) against the request schema of the operation.
//
// kin-openapi applies a discriminator only to choose among oneOf/anyOf alternatives. The
// LINE spec instead puts the discriminator on the base schema (Message, Action,
// FlexComponent, FlexContainer, Template, ...) and has each concrete schema include the
// base through allOf, so VisitJSON against Message checks only the base properties and a
// text message without "text" passes. After the plain VisitJSON, validate therefore walks
// the value alongside the schema and, for every object whose schema carries a
// discriminator, validates it again against the schema the mapping names, recursing into
// that schema's properties so nested messages, actions and flex components are checked.
func (sp *Spec) validate(method, pathTemplate string, body any) ([]Detail, error) {
	schema, err := sp.requestSchema(method, pathTemplate)
	if err != nil {
		return nil, err
	}
	v := &schemaWalker{components: sp.doc.Components.Schemas, seen: map[string]bool{}}
	v.visit(schema, body, nil)
	v.walk(schema, body, nil)
	return v.details, nil
}

// schemaWalker collects validation details without repeating one.
type schemaWalker struct {
	components openapi3.Schemas
	details    []Detail
	seen       map[string]bool
}

func (v *schemaWalker) add(d Detail) {
	key := d.Property + "\x00" + d.Message
	if v.seen[key] {
		return
	}
	v.seen[key] = true
	v.details = append(v.details, d)
}

// visit runs kin-openapi's validator on value at path and records what it reports.
func (v *schemaWalker) visit(schema *openapi3.Schema, value any, path []pathSeg) {
	err := schema.VisitJSON(value, openapi3.MultiErrors(), openapi3.VisitAsRequest())
	for _, d := range flattenSchemaError(err, path) {
		v.add(d)
	}
}

// walk descends value alongside schema, dispatching on discriminators.
func (v *schemaWalker) walk(schema *openapi3.Schema, value any, path []pathSeg) {
	if schema == nil {
		return
	}
	switch val := value.(type) {
	case map[string]any:
		if d := schema.Discriminator; d != nil {
			sub, ok := v.dispatch(schema, d, val, path)
			if !ok {
				return
			}
			if sub != schema {
				v.visit(sub, val, path)
				schema = sub
			}
		}
		v.walkObject(schema, val, path)
	case []any:
		if schema.Items == nil {
			return
		}
		for i, elem := range val {
			v.walk(schema.Items.Value, elem, appendPath(path, pathSeg{index: i}))
		}
	}
}

// dispatch picks the schema that d maps the object's discriminator property to. It
// reports false, having recorded why, when there is none.
func (v *schemaWalker) dispatch(schema *openapi3.Schema, d *openapi3.Discriminator, obj map[string]any, path []pathSeg) (*openapi3.Schema, bool) {
	prop := appendPath(path, pathSeg{key: d.PropertyName})
	raw, present := obj[d.PropertyName]
	if !present {
		// A base schema that requires the property has already been reported by visit.
		if !slices.Contains(schema.Required, d.PropertyName) {
			v.add(Detail{Property: formatPath(prop), Message: "must be specified"})
		}
		return nil, false
	}
	name, ok := raw.(string)
	if !ok {
		return nil, false // the base schema says it is a string and visit reported it
	}
	ref, ok := d.Mapping[name]
	if !ok {
		v.add(Detail{Property: formatPath(prop), Message: "must be one of " + mappingNames(d)})
		return nil, false
	}
	if ref.Value != nil {
		return ref.Value, true
	}
	// Some kin-openapi versions leave mapping refs unresolved; LINE's all point into components.
	name = strings.TrimPrefix(ref.Ref, "#/components/schemas/")
	if sub := v.components[name]; sub != nil && sub.Value != nil {
		return sub.Value, true
	}
	// Report rather than skip, so a loader change cannot switch the checks off silently.
	v.add(Detail{Property: formatPath(prop), Message: "linetest: unresolved discriminator mapping " + ref.Ref})
	return nil, false
}

func mappingNames(d *openapi3.Discriminator) string {
	names := make([]string, 0, len(d.Mapping))
	for k := range d.Mapping {
		names = append(names, k)
	}
	slices.Sort(names)
	return "[" + strings.Join(names, ", ") + "]"
}

// walkObject walks each member of obj whose schema is known, including properties that
// the schema inherits through allOf. The allOf members are not dispatched on: the one
// carrying the discriminator is the base the object was just dispatched from.
func (v *schemaWalker) walkObject(schema *openapi3.Schema, obj map[string]any, path []pathSeg) {
	props := map[string]*openapi3.Schema{}
	var additional []*openapi3.Schema
	collectProperties(schema, props, &additional, map[*openapi3.Schema]bool{})
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := appendPath(path, pathSeg{key: k})
		if s, ok := props[k]; ok {
			v.walk(s, obj[k], p)
			continue
		}
		for _, s := range additional {
			v.walk(s, obj[k], p)
		}
	}
}

func collectProperties(schema *openapi3.Schema, props map[string]*openapi3.Schema, additional *[]*openapi3.Schema, seen map[*openapi3.Schema]bool) {
	if schema == nil || seen[schema] {
		return
	}
	seen[schema] = true
	for name, ref := range schema.Properties {
		if ref != nil && ref.Value != nil {
			if _, dup := props[name]; !dup {
				props[name] = ref.Value
			}
		}
	}
	if ap := schema.AdditionalProperties.Schema; ap != nil && ap.Value != nil {
		*additional = append(*additional, ap.Value)
	}
	for _, ref := range schema.AllOf {
		if ref != nil {
			collectProperties(ref.Value, props, additional, seen)
		}
	}
}

// flattenSchemaError turns what VisitJSON returned into details whose properties are
// prefixed with path. kin-openapi nests the errors of allOf members inside the allOf
// error; the nested ones carry the full path, so only the leaves are kept.
func flattenSchemaError(err error, path []pathSeg) []Detail {
	if err == nil {
		return nil
	}
	var out []Detail
	switch se := err.(type) {
	case openapi3.MultiError:
		for _, e := range se {
			out = append(out, flattenSchemaError(e, path)...)
		}
	case *openapi3.SchemaError:
		if se.Origin != nil {
			var nested openapi3.MultiError
			if errors.As(se.Origin, &nested) {
				for _, e := range nested {
					out = append(out, flattenSchemaError(e, path)...)
				}
				return out
			}
		}
		p := append([]pathSeg(nil), path...)
		for _, s := range se.JSONPointer() {
			if i, err := strconv.Atoi(s); err == nil {
				p = append(p, pathSeg{index: i})
			} else {
				p = append(p, pathSeg{key: s})
			}
		}
		msg := se.Reason
		switch {
		case se.SchemaField == "required":
			msg = "must be specified" // LINE's wording
		case msg == "":
			msg = fmt.Sprintf("does not match schema field %q", se.SchemaField)
		}
		out = append(out, Detail{Property: formatPath(p), Message: msg})
	default:
		// Not a schema error: the message is kin-openapi's own and holds no value.
		out = append(out, Detail{Property: formatPath(path), Message: err.Error()})
	}
	return out
}

// pathSeg is one step into a JSON value: an object key or, when key is "", an index.
type pathSeg struct {
	key   string
	index int
}

// appendPath returns path extended by segs without sharing its tail with other paths.
func appendPath(path []pathSeg, segs ...pathSeg) []pathSeg {
	return append(path[:len(path):len(path)], segs...)
}

// formatPath writes path the way LINE names properties: messages[0].quickReply.items.
func formatPath(path []pathSeg) string {
	var b strings.Builder
	for _, s := range path {
		if s.key == "" {
			fmt.Fprintf(&b, "[%d]", s.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.key)
	}
	return b.String()
}
