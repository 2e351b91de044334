/**
 * Strict reading of JSON request bodies: the bytes must be valid UTF-8 and no string in
 * the value (keys included) may hold a lone surrogate, which JSON's `\uD800` escapes can
 * produce from valid bytes. Either would otherwise be stored with U+FFFD in its place and
 * read back as something the client never sent; refusing keeps what is stored exactly
 * what was written.
 */
import { FlotillaError } from '../core/errors.js';
import { hasLoneSurrogate } from '../core/text.js';

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The text of `bytes`. @throws FlotillaError FLO_INVALID_UTF8 when they are not valid
 * UTF-8 (overlong forms, encoded surrogates and truncated sequences included).
 */
export function decodeUtf8Strict(bytes: Uint8Array, what: string): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    throw new FlotillaError('FLO_INVALID_UTF8', `${what} is not valid UTF-8`);
  }
}

/**
 * Throws FLO_INVALID_UTF8 when any string in `value` (object keys included) holds a lone
 * surrogate. Walks with an explicit stack, so deep nesting cannot overflow the call stack.
 */
export function assertWellFormedStrings(value: unknown, what: string): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') {
      if (hasLoneSurrogate(item)) throw new FlotillaError('FLO_INVALID_UTF8', `${what} holds a string with a lone surrogate (a \\uD800-\\uDFFF escape without its pair)`);
    } else if (Array.isArray(item)) {
      for (const element of item) stack.push(element);
    } else if (typeof item === 'object' && item !== null) {
      for (const [key, element] of Object.entries(item)) {
        stack.push(key, element);
      }
    }
  }
}
