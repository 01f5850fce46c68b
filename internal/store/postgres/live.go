package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Liveness. A process that dies leaves its leases behind: conversations in leases, rows in
// outbox. Rather than have them wait for their expiry, a live owner holds a session-level
// advisory lock on a connection of its own, which the server releases when the session
// ends (the process died, or its connection did), and is listed in live_owners. A listed
// owner whose lock another session can take is dead: its leases are taken over at once,
// by Live when a process starts and by TakeOver, which a live process calls every second
// or so (internal/pipeline). An owner never listed (an older giftdesk, a tool) keeps lease
// expiry; a live owner's leases are never taken over.
//
// The lock's keys are liveClass and a hash of the schema and the owner's name, so that
// stores of different schemas in one database do not meet. Two names with one hash make
// a dead owner look alive: its leases then expire as before.

// liveClass is the first key of owners' liveness locks ("ge" in ASCII; the migrations'
// lock is lockClass).
const liveClass = 0x6765

// liveKey is the keys of owner $2's liveness lock, with $1 liveClass.
const liveKey = `$1::int4, hashtext(coalesce(current_schema(), '') || '/' || $2::text)`

// liveness is the session that holds this Store's owners' locks.
type liveness struct {
	mu   sync.Mutex
	conn *pgx.Conn // nil until the first Live
	mine map[string]bool
}

// Live records owner as alive for as long as this process runs: until leave is called,
// the Store is closed, or the process or its connection dies. It first takes over the
// leases that a previous process under the same name left (a restarted container keeps
// its host name and pid), then those of every dead owner, as TakeOver. It fails if
// another session holds owner's lock. Call it before owner claims anything: leases owner
// holds already would be taken over too. leave ends the record and keeps owner's leases,
// which its holder should have ended first; it is safe to call more than once.
func (s *Store) Live(ctx context.Context, owner string) (leave func() error, err error) {
	if owner == "" {
		return nil, errors.New("live: empty owner")
	}
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	if s.live.mine[owner] {
		return nil, fmt.Errorf("live %s: live already in this store", owner)
	}
	if err := s.liveConn(ctx); err != nil {
		return nil, fmt.Errorf("live %s: %w", owner, err)
	}
	if err := s.register(ctx, owner); err != nil {
		return nil, fmt.Errorf("live %s: %w", owner, err)
	}
	if s.live.mine == nil {
		s.live.mine = map[string]bool{}
	}
	s.live.mine[owner] = true
	if _, err := s.takeOver(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("live %s: %w", owner, err), s.leave(ctx, owner))
	}
	var once sync.Once
	return func() error {
		var err error
		once.Do(func() {
			s.live.mu.Lock()
			defer s.live.mu.Unlock()
			err = s.leave(context.Background(), owner)
		})
		return err
	}, nil
}

// liveConn connects the liveness session if it is not connected. The caller holds mu.
func (s *Store) liveConn(ctx context.Context) error {
	if s.live.conn != nil && !s.live.conn.IsClosed() {
		return nil
	}
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("connect the liveness session: %w", err)
	}
	s.live.conn = conn
	return nil
}

// register takes owner's lock on the liveness session, ends the leases a previous owner
// of the name left, and lists owner in live_owners. The caller holds mu.
func (s *Store) register(ctx context.Context, owner string) error {
	const list = `INSERT INTO live_owners (owner, since) VALUES ($1, $2)
		ON CONFLICT (owner) DO UPDATE SET since = excluded.since`
	conn := s.live.conn
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+liveKey+`)`, liveClass, owner).Scan(&got); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	if !got {
		return errors.New("live already in another session (its lock is held)")
	}
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := s.endLeases(ctx, tx, owner); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, list, owner, ms(s.now()))
		return err
	})
	if err != nil {
		return errors.Join(err, s.unlock(ctx, owner))
	}
	return nil
}

// leave unlists owner and releases its lock. The caller holds mu.
func (s *Store) leave(ctx context.Context, owner string) error {
	if !s.live.mine[owner] {
		return nil
	}
	delete(s.live.mine, owner)
	conn := s.live.conn
	if conn == nil || conn.IsClosed() {
		return nil // the session's end released the lock: the others take over
	}
	if _, err := conn.Exec(ctx, `DELETE FROM live_owners WHERE owner = $1`, owner); err != nil {
		return fmt.Errorf("leave %s: %w", owner, err)
	}
	if err := s.unlock(ctx, owner); err != nil {
		return fmt.Errorf("leave %s: %w", owner, err)
	}
	return nil
}

func (s *Store) unlock(ctx context.Context, owner string) error {
	_, err := s.live.conn.Exec(ctx, `SELECT pg_advisory_unlock(`+liveKey+`)`, liveClass, owner)
	return err
}

// TakeOver ends the leases of every listed owner that has died (its lock is free), on
// conversations and on outbox rows, unlists it, and returns how many leases it ended.
// Their conversations and rows are claimable at once; a row's claim stays counted as an
// attempt, so the next claimer knows the dead owner may have delivered it
// (bot.Outgoing.Attempts > Failures, Replied). When nobody died it costs one query and a
// try-lock per live owner. A Store that never called Live takes over nothing.
//
// If the liveness session was lost (the server restarted, a network cut), this Store's
// owners may have been taken for dead: TakeOver connects again and registers them anew,
// and fails if another session holds one of their locks.
func (s *Store) TakeOver(ctx context.Context) (int, error) {
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	if s.live.conn == nil {
		return 0, nil
	}
	if s.live.conn.IsClosed() || s.live.conn.Ping(ctx) != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("take over: %w", ctx.Err())
		}
		s.live.conn.Close(ctx)
		if err := s.liveConn(ctx); err != nil {
			return 0, fmt.Errorf("take over: %w", err)
		}
		for owner := range s.live.mine {
			if err := s.register(ctx, owner); err != nil {
				return 0, fmt.Errorf("take over: liveness session lost: register %s again: %w", owner, err)
			}
		}
	}
	n, err := s.takeOver(ctx)
	if err != nil {
		return n, fmt.Errorf("take over: %w", err)
	}
	return n, nil
}

// takeOver is TakeOver on a connected session. The caller holds mu.
func (s *Store) takeOver(ctx context.Context) (int, error) {
	conn := s.live.conn
	rows, err := conn.Query(ctx, `SELECT owner FROM live_owners`)
	if err != nil {
		return 0, err
	}
	owners, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	total := 0
	for _, owner := range owners {
		if s.live.mine[owner] {
			continue
		}
		var got bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+liveKey+`)`, liveClass, owner).Scan(&got); err != nil {
			return total, fmt.Errorf("lock %s: %w", owner, err)
		}
		if !got {
			continue // alive
		}
		var n int
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var err error
			if n, err = s.endLeases(ctx, tx, owner); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `DELETE FROM live_owners WHERE owner = $1`, owner)
			return err
		})
		if uerr := s.unlock(ctx, owner); err == nil {
			err = uerr
		}
		if err != nil {
			return total, fmt.Errorf("take over %s: %w", owner, err)
		}
		total += n
	}
	return total, nil
}

// endLeases ends owner's live leases on conversations and outbox rows, keeping owner as a
// row's last claimer (so that its claim stays counted), and returns how many it ended.
// Finding a conversation's lease by owner reads the whole leases table: it happens when a
// process has died, not per turn, and an index on owner would cost every claim a write.
func (s *Store) endLeases(ctx context.Context, tx pgx.Tx, owner string) (int, error) {
	const (
		conversations = `UPDATE leases SET owner = '', expires_at = '-infinity' WHERE owner = $1 AND expires_at > $2`
		outgoing      = `UPDATE outbox SET lease_expires_at = $2
			WHERE finished_at IS NULL AND lease_owner = $1 AND lease_expires_at > $2`
	)
	now := ms(s.now())
	a, err := tx.Exec(ctx, conversations, owner, now)
	if err != nil {
		return 0, fmt.Errorf("end leases of %s: %w", owner, err)
	}
	b, err := tx.Exec(ctx, outgoing, owner, now)
	if err != nil {
		return 0, fmt.Errorf("end leases of %s: %w", owner, err)
	}
	return int(a.RowsAffected() + b.RowsAffected()), nil
}

// closeLive closes the liveness session without unlisting its owners: to the other
// processes they are dead, as after a crash.
func (s *Store) closeLive() {
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	if s.live.conn != nil {
		// Release the locks before the session ends: the server releases them too when it
		// notices the session's end, but only some time after Close returns, and until then
		// the others would see this store's owners alive. They stay listed, so the others
		// take their leases over as a dead owner's (leave unlists them).
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s.live.conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`)
		cancel()
		s.live.conn.Close(context.Background())
	}
	s.live.mine = nil
}
