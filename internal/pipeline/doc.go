// Package pipeline is giftdesk's runtime between the channels and the store: what happens
// to an event after a channel has authenticated it, until the answer is delivered.
//
// A Pipeline, built by New, owns
//   - the inbox the channels write to (Pipeline.Inbox): a Batcher commits concurrent
//     writes together, Hints names the conversations of fresh events, and the inbox wakes
//     the workers itself, so a channel needs no hook and an event can arrive before Run;
//   - the Worker, which claims one conversation at a time per lease, steps its pending
//     events in order through a bot.Stepper (the bot.Desk) and commits each turn's state,
//     transcript and outgoing messages together, keeping recent conversations in a cache;
//   - the Deliverer, which sends the committed messages through the channels' bot.Senders
//     (registered with Pipeline.Add), in order per conversation, with retries, parking
//     and backoff;
//   - the sender of bot.TimerChannel, which turns the desk's timers into inbox events.
//
// Shutdown has one policy: when Run's context ends, nothing new is claimed, and the work
// under way (turns, store reads, profile calls, deliveries) runs on under a context that
// is cancelled Config.Grace later.
//
// The domain (conversations, the engine, the desk, messages, the store interfaces) is in
// package bot; this package imports only it and the standard library.
package pipeline
