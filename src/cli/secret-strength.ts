/**
 * A guard against weak cluster secrets on `flotilla start`. The secret keys every frame
 * between members, and a member that dials a stranger (a seed typed wrong, say) hands it
 * a proof it can test guesses against offline, so a production secret must be random, not
 * a word or a phrase. No estimate can recognise every phrase; this one catches the usual
 * mistakes (short, repetitive, few distinct characters) and points at a generator.
 */

/** Shortest secret `flotilla start` accepts, in characters: `openssl rand -hex 16` is 32. */
export const START_SECRET_CHARS_MIN = 32;

/**
 * Least estimated entropy `flotilla start` accepts, in bits. Random hex of 32 characters
 * estimates at 91 bits or more (128 real); `openssl rand -base64 32` at about 190.
 */
export const START_SECRET_BITS_MIN = 80;

/**
 * Least share of a secret's three-character windows that must differ from each other: a
 * random secret repeats almost none (random hex of 32 characters: about 30 of 30), a
 * repeated word most (`admin-admin-admin-...`: 6 of 33).
 */
export const START_SECRET_DISTINCT_TRIGRAMS_MIN = 0.75;

/** The command that makes a good secret, as the docs and the error suggest it. */
export const SECRET_GENERATOR = 'openssl rand -base64 32';

/**
 * An estimate of a secret's entropy, in bits: its length times the Shannon entropy of its
 * character frequencies. Repeated or few distinct characters lower it; it is an upper
 * bound for text a person chose, so it only ever says "too weak", never "strong".
 */
export function estimateSecretBits(secret: string): number {
  const chars = [...secret];
  const counts = new Map<string, number>();
  for (const c of chars) counts.set(c, (counts.get(c) ?? 0) + 1);
  let perChar = 0;
  for (const count of counts.values()) {
    const p = count / chars.length;
    perChar -= p * Math.log2(p);
  }
  return perChar * chars.length;
}

/**
 * Why `secret` is too weak for `flotilla start`, or undefined when it passes. `published`
 * lists values that are public whatever they look like (the dev secret and token).
 */
export function weakSecretReason(secret: string, published: readonly string[] = []): string | undefined {
  const length = [...secret].length;
  const advice = `make one with \`${SECRET_GENERATOR}\``;
  if (published.includes(secret)) return `the cluster secret is the public development value, known to anyone; ${advice}`;
  if (length < START_SECRET_CHARS_MIN) {
    return `the cluster secret is too short: ${length} characters, at least ${START_SECRET_CHARS_MIN} of random text are needed; ${advice}`;
  }
  const bits = estimateSecretBits(secret);
  if (bits < START_SECRET_BITS_MIN || distinctTrigramShare(secret) < START_SECRET_DISTINCT_TRIGRAMS_MIN) {
    return `the cluster secret has too little entropy (too repetitive, or too few distinct characters); ${advice}`;
  }
  return undefined;
}

/** The share of a secret's three-character windows that are distinct (1 for text without repeats). */
export function distinctTrigramShare(secret: string): number {
  const chars = [...secret];
  if (chars.length < 3) return 0;
  const seen = new Set<string>();
  for (let i = 0; i + 3 <= chars.length; i++) seen.add(chars.slice(i, i + 3).join(''));
  return seen.size / (chars.length - 2);
}
