-- giftdesk_expect returns n if it is 1 and otherwise raises an error with SQLSTATE code,
-- so that a compare-and-swap that changed no row fails the statement, and with it the
-- transaction: CommitTurn can then send its statements and the end of its transaction at
-- once (a pipeline's implicit transaction), with no round trip to look at the counts first.
CREATE FUNCTION giftdesk_expect(n bigint, code text) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    IF n <> 1 THEN
        RAISE EXCEPTION 'giftdesk: % rows, want 1', n USING ERRCODE = code;
    END IF;
    RETURN n;
END
$$;
