-- A claim in one round trip. The claim was a transaction of five statements (BEGIN, the
-- claimers' advisory lock, the due jobs' read, the update, COMMIT); as a function it is one
-- call with the same steps and the same semantics. Each statement of a PL/pgSQL function
-- takes its own snapshot, so the read of due jobs, which follows the lock, sees every claim
-- committed before the lock was granted (a single SQL statement would read from a snapshot
-- taken before it waited for the lock, and could pick a second job of an account whose
-- first was claimed meanwhile).
--
-- Jobs are taken by priority, due time and id, at most one per account and none of an
-- account with a running job; the scan of due jobs grows fourfold until it finds `p_limit`
-- jobs or there are no more due.
CREATE FUNCTION igsync_claim_jobs(
    p_queues text[],
    p_now timestamptz,
    p_worker text,
    p_lease_until timestamptz,
    p_limit integer,
    p_lock_namespace integer,
    p_lock_key integer
) RETURNS SETOF jobs LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_scan bigint := greatest(p_limit::bigint * 4, 32);
    v_seen bigint;
    v_picked bigint[];
    v_accounts bigint[];
    v_due record;
BEGIN
    -- One claimer at a time across every process: the "no two running jobs of one account"
    -- check and the update that makes jobs running happen under this lock.
    PERFORM pg_advisory_xact_lock(p_lock_namespace, p_lock_key);
    LOOP
        v_seen := 0;
        v_picked := '{}';
        v_accounts := '{}';
        FOR v_due IN
            SELECT d.id, d.account_id FROM jobs d
            WHERE d.state = 'pending' AND d.queue = ANY(p_queues) AND d.run_at <= p_now
              AND (d.account_id IS NULL OR NOT EXISTS (
                  SELECT 1 FROM jobs r
                  WHERE r.account_id = d.account_id AND r.state = 'running'))
            ORDER BY d.priority, d.run_at, d.id
            LIMIT v_scan
        LOOP
            v_seen := v_seen + 1;
            -- An account's first job in the order; a job without an account is its own.
            CONTINUE WHEN v_due.account_id = ANY(v_accounts);
            v_picked := v_picked || v_due.id;
            IF v_due.account_id IS NOT NULL THEN
                v_accounts := v_accounts || v_due.account_id;
            END IF;
            EXIT WHEN cardinality(v_picked) >= p_limit;
        END LOOP;
        EXIT WHEN cardinality(v_picked) >= p_limit OR v_seen < v_scan;
        v_scan := v_scan * 4;
    END LOOP;
    IF cardinality(v_picked) = 0 THEN
        RETURN;
    END IF;
    RETURN QUERY
        UPDATE jobs SET state = 'running', attempt = attempt + 1, attempted_at = p_now,
            locked_by = p_worker, lease_expires_at = p_lease_until, finished_at = NULL
        WHERE jobs.id = ANY(v_picked) AND jobs.state = 'pending'
        RETURNING jobs.*;
END $$;
