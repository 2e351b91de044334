/**
 * Text checks and orderings that must not depend on ICU: a Unicode property escape
 * (`\p{...}`) or `localeCompare` loads ICU's tables into the process on first use (about
 * 3 MiB for the collator), and an order that follows the host's locale differs between
 * nodes. These work on UTF-16 code units, the same everywhere.
 */

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `text` holds a lone surrogate (is not well-formed UTF-16). */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/** Orders two strings by their UTF-16 code units, as `Array.prototype.sort` does by default. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
