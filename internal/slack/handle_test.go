package slack

import "testing"

// TestHandleOf checks where the sender and the profile lookup find the handle: in
// Handle, or in ReplyToken for events and rows stored before Handle existed.
func TestHandleOf(t *testing.T) {
	h := handle{User: "U1", Channel: "C1", TS: "1.2"}.encode()
	tests := []struct {
		name, handle, replyToken string
		want                     handle
	}{
		{name: "handle", handle: h, want: handle{User: "U1", Channel: "C1", TS: "1.2"}},
		{name: "stored in the reply token", replyToken: h, want: handle{User: "U1", Channel: "C1", TS: "1.2"}},
		{name: "handle first", handle: handle{User: "U2"}.encode(), replyToken: h, want: handle{User: "U2"}},
		{name: "none", want: handle{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeHandle(handleOf(tt.handle, tt.replyToken))
			if got.User != tt.want.User || got.Channel != tt.want.Channel || got.TS != tt.want.TS {
				t.Errorf("handle = %+v, want %+v", got, tt.want)
			}
		})
	}
}
