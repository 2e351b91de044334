/**
 * Argument checks for the durable-execution calls, shared by every store so all of them
 * refuse the same input with FLO_INVALID_ARGUMENT before anything is written, and the
 * limits that bound one commit and one read.
 */
import { FlotillaError } from '../core/errors.js';
import type { DurableCommit, WorkflowPurge } from './durable.js';
import { WORKFLOW_STATUSES, type WorkflowStatus } from './durable.js';
import { checkCount, checkEntityKey, checkText, ENTITY_ID_LENGTH_MAX, ENTITY_TYPE_LENGTH_MAX, invalid, LIST_LIMIT_MAX, NODE_ID_LENGTH_MAX, WRITE_BATCH_MAX } from './validation.js';

/** Most items (records, journal entries, timers) in one commit. */
export const COMMIT_ITEMS_MAX = 4096;
/** Most commits in one `commitDurable` call. */
export const COMMIT_BATCH_MAX = WRITE_BATCH_MAX;
/** Most partitions one `nextTimers` call may ask about. */
export const TIMER_PARTITIONS_MAX = 65_536;

function checkBytes(what: string, value: unknown): void {
  if (!(value instanceof Uint8Array)) throw invalid(`${what} must be a Uint8Array`);
}

/** Check a workflow execution id (the same bounds as an entity id). */
export function checkWorkflowId(id: unknown): void {
  checkText('workflow id', id, ENTITY_ID_LENGTH_MAX);
}

/** Check a timer id. */
export function checkTimerId(id: unknown): void {
  checkText('timer id', id, ENTITY_ID_LENGTH_MAX);
}

/** Check the arguments of `listWorkflows`. */
export function checkWorkflowList(partition: number, status: WorkflowStatus, limit: number): void {
  checkCount('partition', partition);
  if (!WORKFLOW_STATUSES.includes(status)) throw invalid(`status must be one of ${WORKFLOW_STATUSES.join(', ')}`);
  checkCount('limit', limit);
  if (limit > LIST_LIMIT_MAX) throw invalid(`limit is at most ${LIST_LIMIT_MAX}`);
}

/** Check the arguments of `nextTimers`. */
export function checkTimerQuery(partitions: readonly number[], limit: number): void {
  if (!Array.isArray(partitions)) throw invalid('partitions must be an array');
  if (partitions.length > TIMER_PARTITIONS_MAX) throw invalid(`at most ${TIMER_PARTITIONS_MAX} partitions`);
  for (const p of partitions) checkCount('partition', p);
  checkCount('limit', limit);
  if (limit > LIST_LIMIT_MAX) throw invalid(`limit is at most ${LIST_LIMIT_MAX}`);
}

function checkCommit(c: DurableCommit): void {
  checkCount('partition', c.partition);
  checkCount('epoch', c.epoch);
  checkText('writer', c.writer, NODE_ID_LENGTH_MAX);
  const records = c.records ?? [];
  const journal = c.journal?.append ?? [];
  const set = c.timersSet ?? [];
  const del = c.timersDelete ?? [];
  if (![records, journal, set, del].every(Array.isArray)) throw invalid('commit lists must be arrays');
  if (records.length + journal.length + set.length + del.length > COMMIT_ITEMS_MAX) throw invalid(`a commit holds at most ${COMMIT_ITEMS_MAX} items`);
  for (const r of records) {
    checkEntityKey(r.type, r.id);
    checkCount('expectedVersion', r.expectedVersion);
    if (r.state !== undefined) checkBytes('record state', r.state);
  }
  if (c.workflow !== undefined) {
    checkWorkflowId(c.workflow.id);
    checkText('workflow name', c.workflow.name, ENTITY_TYPE_LENGTH_MAX);
    if (!WORKFLOW_STATUSES.includes(c.workflow.status)) throw invalid(`workflow status must be one of ${WORKFLOW_STATUSES.join(', ')}`);
    checkBytes('workflow input', c.workflow.input);
    if (c.workflow.output !== undefined) checkBytes('workflow output', c.workflow.output);
  }
  if (c.journal !== undefined) {
    checkWorkflowId(c.journal.workflowId);
    if (c.journal.truncateFrom !== undefined) checkCount('truncateFrom', c.journal.truncateFrom);
    for (const e of journal) {
      checkCount('journal seq', e.seq);
      checkText('journal step name', e.name, ENTITY_TYPE_LENGTH_MAX);
      checkBytes('journal outcome', e.outcome);
    }
  }
  for (const t of set) {
    checkTimerId(t.id);
    checkCount('timer dueAt', t.dueAt);
    checkText('timer kind', t.kind, ENTITY_TYPE_LENGTH_MAX);
    checkBytes('timer payload', t.payload);
  }
  for (const d of del) {
    checkTimerId(d.id);
    if (typeof d.mustExist !== 'boolean') throw invalid('mustExist must be a boolean');
  }
}

/** Check a whole `commitDurable` call; one bad commit refuses the call. */
export function checkCommits(commits: readonly DurableCommit[]): void {
  if (!Array.isArray(commits)) throw invalid('commits must be an array');
  if (commits.length > COMMIT_BATCH_MAX) throw invalid(`at most ${COMMIT_BATCH_MAX} commits per call`);
  for (const c of commits) checkCommit(c);
}

/** Most executions one purge deletes. */
export const PURGE_LIMIT_MAX = 10_000;

/** Check the arguments of `purgeWorkflows`. */
export function checkPurge(purge: WorkflowPurge): void {
  if (purge === null || typeof purge !== 'object') throw invalid('a purge is an object');
  checkCount('partition', purge.partition);
  checkCount('epoch', purge.epoch);
  checkText('writer', purge.writer, NODE_ID_LENGTH_MAX);
  checkCount('finishedMs', purge.finishedMs);
  checkCount('limit', purge.limit);
  if (purge.limit > PURGE_LIMIT_MAX) throw invalid(`limit is at most ${PURGE_LIMIT_MAX}`);
  if (!Array.isArray(purge.recordTypes) || purge.recordTypes.length > 8) throw invalid('recordTypes is an array of at most 8 types');
  for (const t of purge.recordTypes) checkText('record type', t, ENTITY_TYPE_LENGTH_MAX);
  const byId = purge.idRecordTypes ?? [];
  if (!Array.isArray(byId) || byId.length > 8) throw invalid('idRecordTypes is an array of at most 8 types');
  for (const t of byId) checkText('record type', t, ENTITY_TYPE_LENGTH_MAX);
}

/** Check the arguments of `partitionsWithExpiredWorkflows`. */
export function checkExpiredQuery(partitions: readonly number[], finishedMs: number): void {
  if (!Array.isArray(partitions)) throw invalid('partitions must be an array');
  if (partitions.length > TIMER_PARTITIONS_MAX) throw invalid(`at most ${TIMER_PARTITIONS_MAX} partitions`);
  for (const p of partitions) checkCount('partition', p);
  checkCount('finishedMs', finishedMs);
}

/** The id range `[from, to)` of the records `<execution id>/...`: '0' follows '/' in code-point order. */
export function ownedRecordRange(workflowId: string): { from: string; to: string } {
  return { from: `${workflowId}/`, to: `${workflowId}0` };
}

/** The error of a journal seq that is already taken. */
export function journalConflictError(workflowId: string, seq: number): FlotillaError {
  return new FlotillaError('FLO_VERSION_CONFLICT', `workflow ${workflowId} already journaled step ${seq}`, { workflowId, seq });
}

/** The error of a `mustExist` timer delete that found nothing. */
export function timerGoneError(id: string, partition: number): FlotillaError {
  return new FlotillaError('FLO_NOT_FOUND', `timer ${id} is not in partition ${partition} (fired or cancelled)`, { timerId: id, partition });
}
