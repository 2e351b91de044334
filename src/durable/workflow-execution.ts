/**
 * An execution as callers see it (`workflows.describe`): its stored record and journal
 * read back as status, the activities that completed, and the result or error.
 */
import type { LoadedWorkflow, StoredWorkflow } from '../storage/durable.js';
import { decodeOutcome } from './journal-codec.js';

/** An execution as stored, for introspection. */
export interface WorkflowExecution {
  readonly id: string;
  readonly name: string;
  readonly status: StoredWorkflow['status'];
  /** Names of the activities that completed, in order. */
  readonly stepsCompleted: readonly string[];
  /** The result once completed. */
  readonly result?: unknown;
  /** The error once failed. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** The execution view of a stored workflow and its journal. */
export function toExecution(loaded: LoadedWorkflow): WorkflowExecution {
  const w = loaded.workflow;
  const stepsCompleted = loaded.journal.filter((e) => e.name.startsWith('activity:') && decodeOutcome(e.outcome).ok).map((e) => e.name.slice('activity:'.length));
  const out = w.output === undefined ? undefined : decodeOutcome(w.output);
  return {
    id: w.id,
    name: w.name,
    status: w.status,
    stepsCompleted,
    ...(out?.ok === true ? { result: out.value } : {}),
    ...(out?.ok === false ? { error: { code: out.code, message: out.message } } : {}),
  };
}
