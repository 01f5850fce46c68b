// Package linetest is a fake LINE Messaging API for tests that drive the real SDK client
// (github.com/line/line-bot-sdk-go/v8/linebot/messaging_api) over HTTP:
//
//	s := linetest.New(t, linetest.Config{})
//	api, _ := messaging_api.NewMessagingApiAPI(s.Token(),
//		messaging_api.WithEndpoint(s.URL()), messaging_api.WithHTTPClient(s.HTTPClient()))
//	token := s.IssueReplyToken("U1")
//	// ... the code under test replies with token ...
//	msgs, err := s.WaitDelivered(ctx, "U1", 1)
//
// It implements reply, push (with X-Line-Retry-Key), get profile, the loading
// animation and the data host's message content (SetContent; see content.go), answers 401 to a wrong token and 404 to anything else, records every call,
// and can be made slow or made to fail (FailNext, Enqueue, SetLatency).
//
// Every reply, push and loading request body is validated against LINE's OpenAPI
// document, compiled in from testdata/messaging-api.yml (copied from LINE, see
// testdata/NOTICE), with kin-openapi, following the spec's discriminators by hand since
// kin-openapi does not, and against LINE's documented limits that the spec leaves out. A
// request that fails is answered 400 with LINE's error body and recorded; unless the test
// takes it with TakeErrors, the test fails when it ends.
//
// The package is split in two. Start is the plain fake: it imports neither testing nor
// net/http/httptest, so a program (cmd/giftdesk-load) can use it; the caller calls Close
// and reads validation failures with Errors. New is the thin wrapper for tests: it takes a
// testing.TB (through TB, the part of it that New calls, so that the package never imports
// testing), logs to it and reports untaken validation failures at cleanup. For load,
// Config.SkipValidation turns the per-request schema walk off, Config.NoHistory keeps the
// fake from growing with every call, and Config.OnCall counts the calls instead.
//
// Sign signs a webhook body as LINE does, and Body, TextEvent, PostbackEvent and
// FollowEvent build webhook bodies in LINE's wire form (checked against
// testdata/webhook.yml by a test); every test and the load generator sign with Sign.
//
// Things the SDK (v8.14.0) does that an adapter author must know, each pinned by a test
// in this package:
//
//   - QuickReplyItem.Type is tagged `json:"type,omitempty"` and the SDK does not default
//     it, so an item built without Type: "action" is sent with no "type" at all. LINE's
//     reference lists "type": "action" as required; the fake rejects such items. Always
//     set Type: "action".
//   - TextMessage.Text has no omitempty: an unset text is sent as "text": "", which LINE
//     rejects ("may not be empty"), not as a missing property.
//   - Flex components (box, text, button, image, filler) send "flex": 0 when Flex is not
//     set, because the field has no omitempty. LINE's default is 1 for a component in a
//     horizontal box, so an unset Flex changes the layout there.
//   - Slices and interfaces without omitempty are sent as null when unset: every push
//     carries "customAggregationUnits": null, and a FlexButton without Action sends
//     "action": null. LINE reads null as absent, and so does the fake: the first is
//     fine, the second is rejected as a missing required action. (FlexBox.Contents is
//     the exception: the SDK sends a nil slice as [].)
//   - PushMessage always sends the X-Line-Retry-Key header, empty when no key is given;
//     the fake treats an empty key as none.
package linetest
