-- kv2pc vs PostgreSQL (bench/compare_postgres.sh): the transfer of transfer_plain.sql ended with
-- PostgreSQL's two-phase commit, as a 2PC participant would: PREPARE TRANSACTION (the transaction
-- is made durable and leaves the session, its locks kept) then COMMIT PREPARED. One participant,
-- no coordinator: the cost of the two forced log writes and of the prepared state alone.
--
-- The gid is per client (:client_id is pgbench's own variable): a pgbench client runs one
-- transaction at a time, so no two prepared transactions share it. pgbench replaces :client_id
-- inside the quotes only with -M simple; PREPARE TRANSACTION takes no bind parameter, so
-- -M extended/prepared cannot run this script.
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
PREPARE TRANSACTION 'kvb_:client_id';
COMMIT PREPARED 'kvb_:client_id';
