package line

import (
	"encoding/json"
	"sync"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/giftdesk/giftdesk/bot"
)

// The SDK encodes a message through a MarshalJSON per level (message, bubble, box, text,
// action), each marshalling the level below again and the encoder re-checking the result:
// a Flex bubble cost about as much CPU as the rest of a turn. Most turns send the same
// few messages (a node's question, an advice bubble, in two languages), so each rendered
// batch is encoded once, through the SDK's own types, and the JSON is kept: later batches
// with the same messages are sent as those bytes. The SDK's client still sends them.

// maxEncoded bounds the batches kept; when it is reached, the store starts over.
const maxEncoded = 2048

// encodedCache maps a batch of bot messages (as JSON) to its LINE messages, encoded. Each
// Channel has its own, so replies never outlive the Channel that sent them. It is safe
// for concurrent use.
type encodedCache struct {
	mu sync.Mutex
	m  map[string][]messaging_api.MessageInterface
}

func newEncodedCache() *encodedCache {
	return &encodedCache{m: make(map[string][]messaging_api.MessageInterface)}
}

// preEncoded is a LINE message already encoded by the SDK's types; the SDK's encoder
// writes its bytes as they are.
type preEncoded struct {
	typ string
	raw json.RawMessage
}

func (p preEncoded) GetType() string              { return p.typ }
func (p preEncoded) MarshalJSON() ([]byte, error) { return p.raw, nil }

// render is the package's render, with the messages encoded once per distinct batch.
func (encoded *encodedCache) render(msgs []bot.Message) ([]messaging_api.MessageInterface, error) {
	key, err := json.Marshal(msgs)
	if err != nil {
		return nil, err
	}
	encoded.mu.Lock()
	out, ok := encoded.m[string(key)]
	encoded.mu.Unlock()
	if ok {
		return out, nil
	}
	rendered := render(msgs)
	out = make([]messaging_api.MessageInterface, len(rendered))
	for i, m := range rendered {
		raw, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		out[i] = preEncoded{typ: m.GetType(), raw: raw}
	}
	encoded.mu.Lock()
	if len(encoded.m) >= maxEncoded {
		clear(encoded.m)
	}
	encoded.m[string(key)] = out
	encoded.mu.Unlock()
	return out, nil
}
