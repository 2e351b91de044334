// The driver's side of the service contract over real sockets: one-way messages and
// requests reach the service that claimed their type, wake-ups fire, a throwing service
// is counted and contained, and overlapping claims are refused at start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import type { Millis } from '../../src/core/clock.js';
import type { MembershipEvent } from '../../src/membership/events.js';
import type { Message, MessageType } from '../../src/protocol/messages.js';
import { startNode, type FlotillaNode, type NodeContext, type NodeService } from '../../src/node/index.js';
import { converged, nodeOptions, stopAll, waitFor } from './helpers.js';

class ProbeService implements NodeService {
  readonly name = 'probe';
  readonly messageTypes: readonly MessageType[] = ['OpForward', 'MigrateCancel'];
  readonly requestTypes: readonly MessageType[] = ['FetchPartitionTable'];
  ctx: NodeContext | undefined;
  readonly received: Message[] = [];
  readonly events: MembershipEvent['type'][] = [];
  ticks: Millis[] = [];
  drained = false;
  stopped = false;

  start(ctx: NodeContext): void {
    this.ctx = ctx;
  }

  onMessage(_from: string, message: Message): void {
    if (message.type === 'MigrateCancel') throw new Error('this service chokes on cancels');
    this.received.push(message);
  }

  onRequest(_from: string, message: Message): Message {
    if (message.type !== 'FetchPartitionTable') throw new Error('unexpected');
    return { type: 'PartitionTableUpdate', table: { version: message.knownVersion + 1, partitionCount: 1, assignments: [{ partition: 0, owner: 'a', backups: [], epoch: 1 }] }, completedMigrations: [] };
  }

  onMembershipEvent(event: MembershipEvent): void {
    this.events.push(event.type);
  }

  onTick(now: Millis): void {
    this.ticks.push(now);
  }

  drain(): Promise<void> {
    this.drained = true;
    return Promise.resolve();
  }

  stop(): void {
    this.stopped = true;
  }
}

describe('hosted services', () => {
  const services = [new ProbeService(), new ProbeService()];
  let nodes: FlotillaNode[] = [];

  beforeAll(async () => {
    const a = await startNode(nodeOptions({ nodeId: 'a', services: [services[0]!] }));
    const b = await startNode(nodeOptions({ nodeId: 'b', seeds: [a.address], services: [services[1]!] }));
    nodes = [a, b];
    await waitFor(() => converged(nodes), 'two nodes to converge');
  });

  afterAll(() => stopAll(nodes));

  it('gives each service a context bound to its node', () => {
    const ctx = services[1]!.ctx!;
    expect(ctx.nodeId).toBe('b');
    expect(ctx.address).toBe(nodes[1]!.address);
    expect(ctx.addressOf('a')).toBe(nodes[0]!.address);
    expect(ctx.membersView().members.map((m) => m.nodeId).sort()).toEqual(['a', 'b']);
    expect(ctx.isMaster()).toBe(false);
    expect(services[0]!.ctx!.isMaster()).toBe(true);
    expect(services[1]!.events).toContain('JoinCompleted');
  });

  it('routes one-way messages to the service that claimed their type, on either channel', async () => {
    const ctx = services[1]!.ctx!;
    const op = { type: 'OpForward' as const, opId: 'op-1', partition: 3, origin: 'b', hops: 1, op: new Uint8Array([1, 2, 3]) };
    ctx.send({ to: nodes[0]!.address, channel: 'tcp', message: op });
    ctx.send({ to: nodes[0]!.address, channel: 'udp', message: { ...op, opId: 'op-2' } });
    await waitFor(() => services[0]!.received.length === 2, 'both messages at the service');
    expect(services[0]!.received.map((m) => (m.type === 'OpForward' ? m.opId : '')).sort()).toEqual(['op-1', 'op-2']);
  });

  it('counts a send the transport refuses instead of throwing', async () => {
    const ctx = services[1]!.ctx!;
    const errors = (): number => nodes[1]!.stats().driver.sendErrors.FLO_INVALID_ARGUMENT ?? 0;
    const before = errors();
    ctx.send({ to: nodes[0]!.address, channel: 'tcp', message: { type: 'OpForward', opId: 'op-3', partition: 3, origin: 'b', hops: 0, op: new Uint8Array([1]) } });
    await waitFor(() => errors() === before + 1, 'the refused send to be counted');
    expect(converged(nodes)).toBe(true);
  });

  it('answers requests through the service that claimed their type', async () => {
    const reply = await services[1]!.ctx!.request(nodes[0]!.address, { type: 'FetchPartitionTable', from: 'b', knownVersion: 41 });
    expect(reply).toMatchObject({ type: 'PartitionTableUpdate', table: { version: 42 } });
    const refused = await services[1]!.ctx!.request(nodes[0]!.address, { type: 'MigrateReady', migrationId: 'm', partition: 0, lastSeq: 0 }).catch((err: unknown) => err);
    expect(isFlotillaError(refused, 'FLO_INVALID_ARGUMENT')).toBe(true);
  });

  it('contains a service that throws', async () => {
    services[1]!.ctx!.send({ to: nodes[0]!.address, channel: 'tcp', message: { type: 'MigrateCancel', migrationId: 'm', partition: 0, reason: 'test' } });
    await waitFor(() => nodes[0]!.stats().driver.serviceErrors === 1, 'the failure to be counted');
    expect(converged(nodes)).toBe(true);
  });

  it('wakes a service at the time it asked for, the latest request winning', async () => {
    const service = services[0]!;
    const ctx = service.ctx!;
    const before = service.ticks.length;
    ctx.wakeAt(ctx.now() + 10_000);
    const at = ctx.now() + 30;
    ctx.wakeAt(at);
    await waitFor(() => service.ticks.length > before, 'the wake-up');
    expect(service.ticks[before]!).toBeGreaterThanOrEqual(at);
  });

  it('drains and stops services when the node leaves', async () => {
    await nodes[1]!.leave();
    expect(services[1]!.drained).toBe(true);
    expect(services[1]!.stopped).toBe(true);
  });
});

describe('service claims', () => {
  const claimer = (name: string, messageTypes: MessageType[]): NodeService => ({ name, messageTypes, start: () => undefined, onMessage: () => undefined, stop: () => undefined });

  it.each([
    ['a membership message', [claimer('x', ['Ping'])], /membership message/],
    ['a type claimed twice', [claimer('x', ['OpForward']), claimer('y', ['OpForward'])], /claimed by both x and y/],
  ])('refuses %s', async (_name, services, message) => {
    const err = await startNode(nodeOptions({ services })).catch((e: unknown) => e);
    expect(isFlotillaError(err, 'FLO_CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(message);
  });
});
