/**
 * How an entity's state is stored: one msgpack document holding the entity's own state
 * and each trait's slice. The encoded bytes double as the change detector: a call
 * changed the entity exactly when the bytes after it differ from the last saved ones.
 */
import { Packr } from 'msgpackr';
import { FlotillaError } from '../core/errors.js';

/** The decoded document: the entity's state and its traits' slices by trait name. */
export interface StateDocument {
  readonly state: unknown;
  readonly traits: Readonly<Record<string, unknown>>;
}

// Plain msgpack (no records, no structured clone): stored bytes stay readable by any
// msgpack library, and equal values always encode to equal bytes.
const packr = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, bundleStrings: false, mapsAsObjects: true });

/** Encode a document; throws FLO_INVALID_ARGUMENT when the state is not msgpack-serializable. */
export function encodeState(doc: StateDocument): Uint8Array {
  try {
    // `pack` returns a view into a reusable buffer: copy it, the bytes are kept.
    return new Uint8Array(packr.pack({ s: doc.state, t: doc.traits }));
  } catch (error) {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', `entity state is not serializable: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Decode stored bytes; throws FLO_STORAGE when they are not a state document. */
export function decodeState(bytes: Uint8Array): StateDocument {
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch (error) {
    throw new FlotillaError('FLO_STORAGE', `stored entity state is unreadable: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof raw !== 'object' || raw === null || !('s' in raw)) throw new FlotillaError('FLO_STORAGE', 'stored entity state is not a state document');
  const t = (raw as { t?: unknown }).t;
  const traits = typeof t === 'object' && t !== null ? (t as Record<string, unknown>) : {};
  return { state: (raw as { s: unknown }).s, traits };
}

/** Byte equality of two encodings. */
export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Encode call arguments or a result for the wire (same plain msgpack). */
export function encodeValue(value: unknown): Uint8Array {
  try {
    return new Uint8Array(packr.pack(value));
  } catch (error) {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', `value is not serializable: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Decode what `encodeValue` produced; throws FLO_DECODE_MALFORMED on garbage. */
export function decodeValue(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes);
  } catch (error) {
    throw new FlotillaError('FLO_DECODE_MALFORMED', `not msgpack: ${error instanceof Error ? error.message : String(error)}`);
  }
}
