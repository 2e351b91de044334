/** Checks of map names and keys on the client, with the same bounds the nodes apply. */
import { FlotillaError } from '../core/errors.js';
import { utf8ByteLength } from '../protocol/validate.js';

/** Longest key, in UTF-8 bytes (the map store's bound). */
export const CLIENT_KEY_BYTES_MAX = 1024;

/** Longest map name, in UTF-8 bytes (the map store's bound). */
export const CLIENT_MAP_NAME_BYTES_MAX = 256;

function check(value: string, max: number, what: string): string {
  const bytes = typeof value === 'string' ? utf8ByteLength(value) : -1;
  if (bytes < 1 || bytes > max) throw new FlotillaError('FLO_INVALID_ARGUMENT', `${what} must be a non-empty well-formed string of at most ${max} bytes`);
  return value;
}

/** @throws FLO_INVALID_ARGUMENT */
export function checkKeyName(key: string): string {
  return check(key, CLIENT_KEY_BYTES_MAX, 'a key');
}

/** @throws FLO_INVALID_ARGUMENT */
export function checkMapName(name: string): string {
  return check(name, CLIENT_MAP_NAME_BYTES_MAX, 'a map name');
}
