/**
 * The durable tables' rows as both SQL stores read them, and their conversion to the
 * storage model (the drivers hand back `Buffer`s and, on PostgreSQL, BIGINTs as text).
 */
import type { DurableTimer, StoredWorkflow, WorkflowStatus } from './durable.js';

/** A row of `flotilla_workflows`. */
export interface WorkflowRow {
  id: string;
  partition: number;
  name: string;
  status: string;
  input: Uint8Array;
  output: Uint8Array | null;
}

/** A row of `flotilla_timers`; `due_at` is a number on SQLite and BIGINT text on PostgreSQL. */
export interface TimerRow {
  id: string;
  partition: number;
  due_at: number | string;
  kind: string;
  payload: Uint8Array;
}

export function toWorkflow(r: WorkflowRow): StoredWorkflow {
  return { id: r.id, partition: r.partition, name: r.name, status: r.status as WorkflowStatus, input: new Uint8Array(r.input), output: r.output === null ? undefined : new Uint8Array(r.output) };
}

export function toTimer(r: TimerRow): DurableTimer {
  return { id: r.id, partition: r.partition, dueAt: Number(r.due_at), kind: r.kind, payload: new Uint8Array(r.payload) };
}
