package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"

	"github.com/jackc/pgx/v5"
)

// scratchPostgres creates an empty database on the PostgreSQL server that serverURL names
// (connecting to the database it names, which is left alone) and returns its URL and a
// function that drops it.
func scratchPostgres(ctx context.Context, serverURL string) (dbURL string, drop func(), err error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", nil, fmt.Errorf("--db: %s", redactURL(serverURL))
	}
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", nil, fmt.Errorf("connect to %s: %w", redactURL(serverURL), err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("giftdesk_load_%08x", rand.Uint32())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u.Path = "/" + name
	drop = func() {
		c, err := pgx.Connect(context.Background(), serverURL)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	return u.String(), drop, nil
}

// pingPostgres connects to the PostgreSQL server that serverURL names, so that a run
// fails before any load when the server cannot be reached.
func pingPostgres(ctx context.Context, serverURL string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", redactURL(serverURL), err)
	}
	defer conn.Close(ctx)
	if err := conn.Ping(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", redactURL(serverURL), err)
	}
	return nil
}
