import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { SERVICE_NAME_BYTES_MAX } from '../../src/protocol/limits.js';
import type { MigrationParticipant } from '../../src/sharding/participant.js';
import { checkRegistration, PARTITIONED_SERVICES_MAX, type PartitionedService, type PartitionHandler } from '../../src/sharding/service.js';
import { Sharding } from '../../src/sharding/sharding.js';

const handler = (service: string): PartitionHandler => ({ service, ownerOnly: true, handle: () => Promise.resolve(undefined) }) as unknown as PartitionHandler;
const participant = (name: string): MigrationParticipant => ({ name }) as unknown as MigrationParticipant;
const service = (name: string, handlers: string[] = [], participantName?: string): PartitionedService => ({
  name,
  handlers: handlers.map(handler),
  ...(participantName === undefined ? {} : { participant: participant(participantName) }),
});

function refusal(registered: PartitionedService[], next: PartitionedService): string | undefined {
  try {
    checkRegistration(registered, next);
    return undefined;
  } catch (err) {
    expect(isFlotillaError(err) && err.code === 'FLO_CONFIG_INVALID').toBe(true);
    return (err as Error).message;
  }
}

describe('registering a partitioned service', () => {
  it('takes services whose service, handler and participant names are all new', () => {
    expect(refusal([service('kv', ['kv.get'], 'kv')], service('entities', ['entity.call'], 'entities'))).toBeUndefined();
  });

  it('refuses a second service of one name, a handler taken twice, a participant name taken twice', () => {
    const kv = service('kv', ['kv.get', 'kv.set'], 'kv');
    expect(refusal([kv], service('kv'))).toMatch(/two partitioned services are named kv/);
    expect(refusal([kv], service('other', ['kv.set']))).toMatch(/two handlers for service kv.set/);
    expect(refusal([], service('dup', ['a', 'a']))).toMatch(/two handlers for service a/);
    expect(refusal([kv], service('other', [], 'kv'))).toMatch(/participant names must be unique/);
  });

  it('refuses participant names that do not fit a frame, and more services than the layer hosts', () => {
    expect(refusal([], service('empty', [], ''))).toMatch(/participant names/);
    expect(refusal([], service('long', [], 'x'.repeat(SERVICE_NAME_BYTES_MAX + 1)))).toMatch(/participant names/);
    const full = Array.from({ length: PARTITIONED_SERVICES_MAX }, (_, i) => service(`s${i}`));
    expect(refusal(full, service('one-more'))).toMatch(new RegExp(`at most ${PARTITIONED_SERVICES_MAX}`));
  });

  it('goes through the layer: a refused service is not hosted, an accepted one is', () => {
    const sharding = new Sharding();
    sharding.register(service('kv', ['kv.get'], 'kv'));
    expect(() => sharding.register(service('kv2', ['kv.get']))).toThrow(/two handlers/);
    expect(() => sharding.register(service('kv2', ['kv.put']))).not.toThrow();
  });
});
