/**
 * Schema version 3: a set-based twin of `flotilla_write_entities` for batches whose keys
 * are all distinct. It takes the same locks in the same order, then checks and applies the
 * whole batch in one statement instead of three statements per write, which makes a batch
 * of 64 about 1.6x cheaper in server time. SQLite needs nothing: its batches run in-process.
 */
import type { Migration } from './migration.js';

// A write whose record did not exist when the locks were taken may meet a record another
// transaction created meanwhile (its INSERT does nothing); only then is the version read
// again, by a statement of its own that sees the other transaction's commit.
const postgres = `
CREATE FUNCTION flotilla_write_entities_distinct(
  p_partitions integer[], p_epochs bigint[], p_writers text[], p_types text[], p_ids text[],
  p_states bytea[], p_expected bigint[]
) RETURNS TABLE (fence_epoch bigint, fence_owner text, current_version bigint, applied boolean, new_version bigint)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  r record;
  cur bigint;
BEGIN
  PERFORM 1 FROM flotilla_partition_fences f WHERE f.partition = ANY (p_partitions) ORDER BY f.partition FOR SHARE;
  PERFORM 1 FROM flotilla_entities e JOIN unnest(p_types, p_ids) AS k(key_type, key_id) ON e.type = k.key_type AND e.id = k.key_id
    ORDER BY e.type, e.id FOR UPDATE OF e;
  FOR r IN
    WITH input AS (
      SELECT * FROM unnest(p_partitions, p_epochs, p_writers, p_types, p_ids, p_states, p_expected)
        WITH ORDINALITY AS i(partition, epoch, writer, type, id, state, expected, n)
    ), checked AS (
      SELECT i.*, f.epoch AS f_epoch, f.owner AS f_owner, coalesce(e.version, 0) AS cur,
        coalesce(f.epoch = i.epoch AND f.owner = i.writer AND coalesce(e.version, 0) = i.expected, false) AS ok
      FROM input i
      LEFT JOIN flotilla_partition_fences f ON f.partition = i.partition
      LEFT JOIN flotilla_entities e ON e.type = i.type AND e.id = i.id
    ), upd AS (
      UPDATE flotilla_entities e SET state = c.state, version = c.cur + 1, partition = c.partition, updated_at = now()
      FROM checked c WHERE c.ok AND c.state IS NOT NULL AND c.cur > 0 AND e.type = c.type AND e.id = c.id
    ), ins AS (
      INSERT INTO flotilla_entities (type, id, partition, state, version, updated_at)
      SELECT c.type, c.id, c.partition, c.state, 1, now() FROM checked c WHERE c.ok AND c.state IS NOT NULL AND c.cur = 0
      ON CONFLICT (type, id) DO NOTHING
      RETURNING type, id
    ), del AS (
      DELETE FROM flotilla_entities e USING checked c WHERE c.ok AND c.state IS NULL AND e.type = c.type AND e.id = c.id
    )
    SELECT c.f_epoch, c.f_owner, c.cur, c.ok, c.state IS NULL AS is_delete, c.type, c.id,
      (c.ok AND c.state IS NOT NULL AND c.cur = 0) AS wants_insert,
      EXISTS (SELECT 1 FROM ins WHERE ins.type = c.type AND ins.id = c.id) AS inserted
    FROM checked c ORDER BY c.n
  LOOP
    fence_epoch := r.f_epoch; fence_owner := r.f_owner; current_version := r.cur; applied := r.ok; new_version := r.cur;
    IF r.ok THEN
      IF r.is_delete THEN
        new_version := 0;
      ELSIF NOT r.wants_insert THEN
        new_version := r.cur + 1;
      ELSIF r.inserted THEN
        new_version := 1;
      ELSE
        SELECT e.version INTO cur FROM flotilla_entities e WHERE e.type = r.type AND e.id = r.id;
        applied := false; current_version := cur; new_version := cur;
      END IF;
    END IF;
    RETURN NEXT;
  END LOOP;
END
$fn$;
`;

const sqlite = `
-- Nothing to add: SQLite applies a batch in-process, in one transaction, write by write.
`;

/** The set-based batch write of PostgreSQL. */
export const setWrites: Migration = { version: 3, name: 'set-based batch writes', sqlite, postgres };
