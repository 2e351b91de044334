/**
 * The activity context: reads of records as stored now, and staged changes that the
 * workflow run commits together with the activity's journal entry, each expecting the
 * version it read, so a record changed by someone else in between refuses the whole step
 * (and the activity is tried again) instead of losing that change.
 */
import { decodeState, encodeState } from '../entities/state-codec.js';
import type { RecordWrite } from '../storage/durable.js';
import type { Storage } from '../storage/storage.js';
import type { ActivityContext } from './workflow-definition.js';

/** One attempt's reads and staged writes. */
export class StagedActivity implements ActivityContext {
  private readonly versions = new Map<string, number>();
  private readonly staged = new Map<string, RecordWrite>();

  constructor(
    private readonly storage: Storage,
    readonly workflowId: string,
    readonly attempt: number,
  ) {}

  async get(type: string, id: string): Promise<unknown> {
    const key = `${type}\u0000${id}`;
    const staged = this.staged.get(key);
    if (staged !== undefined) return staged.state === undefined ? undefined : decodeState(staged.state).state;
    const stored = await this.storage.loadEntity(type, id);
    this.versions.set(key, stored?.version ?? 0);
    return stored === undefined ? undefined : decodeState(stored.state).state;
  }

  async set(type: string, id: string, value: unknown): Promise<void> {
    await this.stage(type, id, encodeState({ state: value, traits: {} }));
  }

  async delete(type: string, id: string): Promise<void> {
    await this.stage(type, id, undefined);
  }

  /** The staged changes, one per record, for the step's commit. */
  writes(): RecordWrite[] {
    return [...this.staged.values()];
  }

  private async stage(type: string, id: string, state: Uint8Array | undefined): Promise<void> {
    const key = `${type}\u0000${id}`;
    if (!this.versions.has(key)) this.versions.set(key, (await this.storage.loadEntity(type, id))?.version ?? 0);
    this.staged.set(key, { type, id, state, expectedVersion: this.versions.get(key)! });
  }
}
