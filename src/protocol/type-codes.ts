/**
 * The stable numeric tables of the wire format: the leading magic byte, one code per
 * message type, and the small-integer codes of enumerated fields. Codes are never
 * renumbered or reused; a retired message keeps its number reserved.
 */
import type { MemberStatus, SwimState } from '../core/model.js';
import type { MessageType, MigrationVerdict, ReplicaRole } from './messages.js';

/**
 * First byte of every frame: "Flotilla wire format 1". A frame with another first byte
 * is refused before parsing, which cheaply rejects garbage on a shared port and marks a
 * future incompatible format (it would start with 0xf2).
 */
export const WIRE_MAGIC = 0xf1;

/** Bytes before the msgpack body: the magic byte and the message type code. */
export const WIRE_HEADER_BYTES = 2;

/**
 * Message type codes. Grouped by concern in ranges of 16 so related messages stay
 * together as the protocol grows; 0 is never used (a zeroed buffer is not a message).
 */
export const MESSAGE_TYPE_CODES = {
  // SWIM (UDP datagrams, and Suspect/Alive/Dead also as piggybacked updates)
  Ping: 1,
  PingReq: 2,
  Ack: 3,
  Nack: 4,
  Gossip: 5,
  PushPull: 6,
  Suspect: 7,
  Alive: 8,
  Dead: 9,
  // Membership: the master's decisions
  JoinRequest: 16,
  JoinResponse: 17,
  MembersUpdate: 18,
  LeaveRequest: 19,
  Heartbeat: 20,
  HeartbeatComplaint: 21,
  ExplicitSuspicion: 22,
  // Partitions
  PartitionTableUpdate: 32,
  FetchPartitionTable: 33,
  MergedTable: 34,
  // Migration
  MigrateStart: 48,
  MigrateData: 49,
  MigrateReady: 50,
  MigrateFinalize: 51,
  MigrateCancel: 52,
  MigrateQuery: 53,
  MigrateStatus: 54,
  // Split brain
  SplitBrainProbe: 64,
  SplitBrainProbeResponse: 65,
  MergeRequest: 66,
  // Forwarding
  OpForward: 80,
  // Partition-addressed service operations
  ServiceRequest: 96,
  ServiceResponse: 97,
} as const satisfies Record<MessageType, number>;

const typeByCode: ReadonlyMap<number, MessageType> = new Map(
  (Object.keys(MESSAGE_TYPE_CODES) as MessageType[]).map((type) => [MESSAGE_TYPE_CODES[type], type]),
);

/** The message type a code stands for, or undefined for an unknown code. */
export function messageTypeOfCode(code: number): MessageType | undefined {
  return typeByCode.get(code);
}

/** The code of a message type, or undefined when `type` is not one (untrusted input). */
export function codeOfMessageType(type: unknown): number | undefined {
  return typeof type === 'string' && Object.hasOwn(MESSAGE_TYPE_CODES, type)
    ? MESSAGE_TYPE_CODES[type as MessageType]
    : undefined;
}

/**
 * The SWIM types that travel in UDP datagrams. Their frames are capped at
 * GOSSIP_MESSAGE_BYTES_MAX by default, whichever transport carries them.
 */
export const DATAGRAM_MESSAGE_TYPES: ReadonlySet<MessageType> = new Set<MessageType>([
  'Ping',
  'PingReq',
  'Ack',
  'Nack',
  'Gossip',
  'Suspect',
  'Alive',
  'Dead',
]);

/** `SwimState` codes: the index is the code. */
export const SWIM_STATE_CODES: readonly SwimState[] = ['alive', 'suspect', 'dead', 'left'];

/** `MemberStatus` codes: the index is the code. */
export const MEMBER_STATUS_CODES: readonly MemberStatus[] = ['active', 'suspect', 'leaving', 'dead'];

/** `ReplicaRole` codes: the index is the code. */
export const REPLICA_ROLE_CODES: readonly ReplicaRole[] = ['owner', 'backup'];

/** `MigrateStatus.verdict` codes: the index is the code. */
export const MIGRATION_VERDICT_CODES: readonly MigrationVerdict[] = ['committed', 'cancelled', 'unknown'];

/** `MigrateData.kind` codes: the index is the code. */
export const MIGRATE_DATA_KIND_CODES: readonly MigrateDataKind[] = ['chunk', 'delta'];

/** What a MigrateData carries. */
export type MigrateDataKind = 'chunk' | 'delta';
