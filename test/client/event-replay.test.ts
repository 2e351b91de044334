// Change events survive a lost connection and a failover: a subscriber's connection to the
// owner of some keys goes down (its gateway closes), another client writes those keys
// meanwhile (forwarded to the owner, which keeps acknowledging), and then either the
// owner stops (its backups take over) or its gateway comes back. The subscriber never
// reads those keys, so every final value it hears comes from a replay of the node's map
// state above its cursor. Three in-process nodes on OS-assigned ports, real sockets.
import { describe, expect, it } from 'vitest';
import { partitionOf, type FlotillaClient } from '../../src/client-platform/index.js';
import { waitFor } from '../node/helpers.js';
import type { PartitionNode } from '../node/partition-harness.js';
import { useThreeNodes } from './three-nodes.js';

const cluster = useThreeNodes('client-replay-secret-0123456789abcdef0123', 'replay');
const { nodes, gateways } = cluster;

/** Three nodes with gateways, a subscriber to map `replay` (every event kept in order) and a writer, both connected everywhere. */
async function setUp(): Promise<{ events: [string, unknown][]; writer: FlotillaClient; subscriber: FlotillaClient }> {
  await cluster.start();
  const subscriber = await cluster.connect({ config: { reconnectMaxMs: 200 } });
  const writer = await cluster.connect({ config: { reconnectMaxMs: 200 } });
  await waitFor(() => subscriber.getConnectedNodes().length === 3 && writer.getConnectedNodes().length === 3 && writer.isRoutingActive(), 'both clients connected to every node', 20_000);
  const events: [string, unknown][] = [];
  subscriber.getMap<string>('replay').subscribe((c) => events.push([c.key, c.value]));
  // Subscriptions reach the nodes asynchronously: probe every node's partitions until each probe is reported.
  let probes = 0;
  await waitFor(() => {
    if (events.filter(([k]) => k.startsWith('probe-')).length >= 9) return true;
    void writer.getMap<string>('replay').set(`probe-${probes++}`, 'p');
    return false;
  }, 'probe events', 20_000);
  return { events, writer, subscriber };
}

/** Keys of `owner`'s partitions, at least `count`. */
function keysOf(owner: PartitionNode, count: number): string[] {
  const table = owner.node.partitionTable()!;
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++) if (table.assignments[partitionOf(`r-${i}`)]!.owner === owner.id) keys.push(`r-${i}`);
  return keys;
}

/** Write two values to each key and delete the last: the final values the subscriber must hear. */
async function writeDuringOutage(writer: FlotillaClient, keys: readonly string[]): Promise<Map<string, unknown>> {
  const map = writer.getMap<string>('replay');
  const finals = new Map<string, unknown>();
  for (const key of keys) {
    await map.set(key, `${key}-first`);
    await map.set(key, `${key}-final`);
    finals.set(key, `${key}-final`);
  }
  await map.delete(keys[keys.length - 1]!);
  finals.set(keys[keys.length - 1]!, undefined);
  return finals;
}

function heard(events: readonly [string, unknown][], finals: Map<string, unknown>): string[] {
  const last = new Map<string, unknown>();
  for (const [key, value] of events) if (finals.has(key)) last.set(key, value);
  return [...finals].filter(([key, value]) => !last.has(key) || last.get(key) !== value).map(([key]) => key);
}

describe('change events across a lost connection and a failover', () => {
  it('the owner stops after acknowledging writes the subscriber did not hear: its successors replay them', async () => {
    const { events, writer, subscriber } = await setUp();
    const owner = nodes[1]!;
    const keys = keysOf(owner, 6);
    await gateways[1]!.close();
    await waitFor(() => subscriber.getConnectedNodes().length === 2, 'the subscriber lost its connection to the owner', 10_000);

    const finals = await writeDuringOutage(writer, keys);
    // The owner acknowledged them (forwarded through the other nodes) while no subscriber could hear it.
    expect(owner.service.store.get(partitionOf(keys[0]!), keys[0]!, 'replay')).toBeDefined();
    expect(heard(events, finals)).toEqual(keys);

    await owner.node.stop();
    await waitFor(() => heard(events, finals).length === 0, `every final value as an event (missing: ${heard(events, finals).join(',')})`, 30_000);
    // Heard as events: the subscriber never read these keys.
    expect(subscriber.pendingWrites()).toBe(0);
  }, 120_000);

  it('the owner keeps running and its gateway comes back: the reconnect replays what was written meanwhile', async () => {
    const { events, writer, subscriber } = await setUp();
    const owner = nodes[2]!;
    const keys = keysOf(owner, 6);
    await gateways[2]!.close();
    await waitFor(() => subscriber.getConnectedNodes().length === 2, 'the subscriber lost its connection to the owner', 10_000);

    const finals = await writeDuringOutage(writer, keys);
    expect(heard(events, finals)).toEqual(keys);

    gateways[2] = await cluster.serve(owner);
    await waitFor(() => heard(events, finals).length === 0, `every final value as an event (missing: ${heard(events, finals).join(',')})`, 30_000);
    expect(subscriber.getConnectedNodes().length).toBe(3);
  }, 120_000);
});
