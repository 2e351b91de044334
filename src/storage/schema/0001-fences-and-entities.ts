/**
 * Schema version 1: partition fences and entity records. The PostgreSQL half also holds
 * the function that applies a batch of entity writes in one round trip (the fence rows
 * locked in partition order, then every write checked and applied in order).
 */
import type { Migration } from './migration.js';

const sqlite = `
CREATE TABLE flotilla_partition_fences (
  partition INTEGER PRIMARY KEY,
  epoch INTEGER NOT NULL,
  owner TEXT NOT NULL,
  claimed_at INTEGER NOT NULL
);
CREATE TABLE flotilla_entities (
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  partition INTEGER NOT NULL REFERENCES flotilla_partition_fences (partition),
  state BLOB NOT NULL,
  version INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (type, id)
) WITHOUT ROWID;
CREATE INDEX flotilla_entities_partition_type ON flotilla_entities (partition, type);
`;

// Text keys use the "C" collation: byte order, the order SQLite and the in-memory store
// list ids in, and cheaper comparisons in the primary key.
const postgres = `
CREATE TABLE flotilla_partition_fences (
  partition integer PRIMARY KEY,
  epoch bigint NOT NULL,
  owner text NOT NULL,
  claimed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE flotilla_entities (
  type text COLLATE "C" NOT NULL,
  id text COLLATE "C" NOT NULL,
  partition integer NOT NULL REFERENCES flotilla_partition_fences (partition),
  state bytea NOT NULL,
  version bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (type, id)
);
CREATE INDEX flotilla_entities_partition_type ON flotilla_entities (partition, type);

CREATE FUNCTION flotilla_write_entities(
  p_partitions integer[], p_epochs bigint[], p_writers text[], p_types text[], p_ids text[],
  p_states bytea[], p_expected bigint[]
) RETURNS TABLE (fence_epoch bigint, fence_owner text, current_version bigint, applied boolean, new_version bigint)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  i integer;
  f_epoch bigint;
  f_owner text;
  cur bigint;
  n integer;
BEGIN
  -- Claims update fence rows, so holding them shared serializes claims against this batch;
  -- locking in partition order (then entity rows in key order) avoids deadlocks.
  PERFORM 1 FROM flotilla_partition_fences f WHERE f.partition = ANY (p_partitions) ORDER BY f.partition FOR SHARE;
  PERFORM 1 FROM flotilla_entities e JOIN unnest(p_types, p_ids) AS k(key_type, key_id) ON e.type = k.key_type AND e.id = k.key_id
    ORDER BY e.type, e.id FOR UPDATE OF e;
  FOR i IN 1 .. coalesce(array_length(p_partitions, 1), 0) LOOP
    SELECT f.epoch, f.owner INTO f_epoch, f_owner FROM flotilla_partition_fences f WHERE f.partition = p_partitions[i];
    IF NOT FOUND THEN f_epoch := NULL; f_owner := NULL; END IF;
    SELECT e.version INTO cur FROM flotilla_entities e WHERE e.type = p_types[i] AND e.id = p_ids[i];
    IF NOT FOUND THEN cur := 0; END IF;
    fence_epoch := f_epoch; fence_owner := f_owner; current_version := cur; applied := false; new_version := cur;
    IF f_epoch = p_epochs[i] AND f_owner = p_writers[i] AND cur = p_expected[i] THEN
      IF p_states[i] IS NULL THEN
        DELETE FROM flotilla_entities e WHERE e.type = p_types[i] AND e.id = p_ids[i];
        applied := true; new_version := 0;
      ELSIF cur = 0 THEN
        INSERT INTO flotilla_entities (type, id, partition, state, version, updated_at)
          VALUES (p_types[i], p_ids[i], p_partitions[i], p_states[i], 1, now())
          ON CONFLICT (type, id) DO NOTHING;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n = 1 THEN
          applied := true; new_version := 1;
        ELSE
          -- Another transaction created the record since this one looked.
          SELECT e.version INTO cur FROM flotilla_entities e WHERE e.type = p_types[i] AND e.id = p_ids[i];
          current_version := cur; new_version := cur;
        END IF;
      ELSE
        UPDATE flotilla_entities e SET state = p_states[i], version = cur + 1, partition = p_partitions[i], updated_at = now()
          WHERE e.type = p_types[i] AND e.id = p_ids[i];
        applied := true; new_version := cur + 1;
      END IF;
    END IF;
    RETURN NEXT;
  END LOOP;
END
$fn$;
`;

/** Partition fences and entity records. */
export const fencesAndEntities: Migration = { version: 1, name: 'partition fences and entities', sqlite, postgres };
