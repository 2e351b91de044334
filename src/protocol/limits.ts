/**
 * Every size and count bound of the wire protocol, as named constants. The codec enforces
 * them in both directions, so a frame that one node encodes is one every node accepts,
 * and a peer cannot make a decoder hold or build more than these bounds allow.
 */

/** Default largest TCP frame (one encoded message), in bytes: 16 MiB. */
export const TCP_FRAME_BYTES_MAX = 16 * 1024 * 1024;

/**
 * Hard cap on one SWIM datagram message (Ping, PingReq, Ack, Nack, Gossip, Suspect,
 * Alive, Dead), in bytes. The gossip queue never fills a message past it.
 */
export const GOSSIP_MESSAGE_BYTES_MAX = 4096;

/**
 * What the UDP driver asks the gossip queue for by default, in bytes: small enough that a
 * datagram does not fragment on ordinary networks (1,500-byte MTU minus IP/UDP headers).
 */
export const UDP_DATAGRAM_BUDGET_BYTES = 1400;

/** Longest node id, in UTF-8 bytes. Node ids are never empty. */
export const NODE_ID_BYTES_MAX = 128;

/** Longest `host:port` address, in UTF-8 bytes (a DNS name is at most 253). */
export const ADDRESS_BYTES_MAX = 270;

/** Longest cluster id, in UTF-8 bytes. */
export const CLUSTER_ID_BYTES_MAX = 128;

/** Longest join auth token, in UTF-8 bytes. */
export const AUTH_TOKEN_BYTES_MAX = 1024;

/** Longest error code carried in a message (e.g. `JoinResponse.rejectCode`), in UTF-8 bytes. */
export const ERROR_CODE_BYTES_MAX = 64;

/** Longest human-readable reason, in UTF-8 bytes. */
export const REASON_BYTES_MAX = 1024;

/** Longest migration id, in UTF-8 bytes. */
export const MIGRATION_ID_BYTES_MAX = 128;

/** Longest lineage id of a partition table (the id of the master that began it and its view version). */
export const LINEAGE_ID_BYTES_MAX = 160;

/** Longest migration participant service name (`MigrateData.service`), in UTF-8 bytes. */
export const SERVICE_NAME_BYTES_MAX = 64;

/** Longest forwarded operation id, in UTF-8 bytes. */
export const OP_ID_BYTES_MAX = 128;

/** Most tags one node carries. */
export const TAGS_COUNT_MAX = 32;

/** Most bytes of tags one node carries: the sum of UTF-8 key and value lengths. */
export const TAGS_BYTES_MAX = 512;

/** Longest tag key, in UTF-8 bytes. Keys are never empty. */
export const TAG_KEY_BYTES_MAX = 64;

/** Most gossip updates piggybacked on one Ping, PingReq, Ack or Gossip. */
export const GOSSIP_UPDATES_MAX = 20;

/** Most member states in one PushPull. */
export const PUSH_PULL_STATES_MAX = 10_000;

/** Most members in one members view. */
export const MEMBERS_MAX = 10_000;

/** Most partitions a partition table may have (`partitionCount`): the core's bound. */
export { PARTITION_COUNT_MAX } from '../core/partition.js';

/** Most backups of one partition in a table. */
export const BACKUPS_MAX = 16;

/** Most migration ids listed as completed in one PartitionTableUpdate. */
export const COMPLETED_MIGRATIONS_MAX = 65_536;

/** Most seed addresses in one MergeRequest. */
export const SEEDS_MAX = 256;

/** Largest opaque payload (`MigrateData.payload`, `OpForward.op`), in bytes: 8 MiB. */
export const PAYLOAD_BYTES_MAX = 8 * 1024 * 1024;

/** Most times one operation is forwarded towards its owner (`OpForward.hops`). */
export const MAX_FORWARD_HOPS = 3;

/** Largest value of a `uint32` field (partitions, incarnations). */
export const UINT32_MAX = 0xffff_ffff;
