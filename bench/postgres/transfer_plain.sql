-- kv2pc vs PostgreSQL (bench/compare_postgres.sh): kv2pc-bench's `transfer` as one local
-- PostgreSQL transaction. Two distinct accounts a != b, uniform over 1..:accounts (pgbench -D
-- accounts=N), amount 1..10; both rows locked with SELECT ... FOR UPDATE, as kv2pc's GET
-- for_update, then both updated: BEGIN + 2 reads + 2 writes + COMMIT, six statements as
-- kv2pc's six requests. Rows are locked in id order (least first), so two transfers never
-- deadlock; kv2pc instead picks a random order and resolves conflicts with wound-wait.
-- Run with -M simple, like transfer_2pc.sql (which needs it for its gid).
\set a random(1, :accounts)
\set b 1 + (:a + random(1, :accounts - 1) - 1) % :accounts
\set lo least(:a, :b)
\set hi greatest(:a, :b)
\set m random(1, 10)
BEGIN;
SELECT balance FROM accounts WHERE id = :lo FOR UPDATE;
SELECT balance FROM accounts WHERE id = :hi FOR UPDATE;
UPDATE accounts SET balance = balance - :m WHERE id = :a;
UPDATE accounts SET balance = balance + :m WHERE id = :b;
COMMIT;
