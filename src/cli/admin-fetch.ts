/**
 * A `fetch` for `flotilla status` and `flotilla members` that trusts the CA certificates of
 * `--ca`: Node's global fetch trusts only the system store and `NODE_EXTRA_CA_CERTS`, and an
 * admin API signed by the cluster's own CA should not need an environment variable. Only
 * what those commands use: GET, headers, a signal, the status and the body.
 */
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';

/** Largest `--ca` file read, in bytes: a CA bundle is a few hundred KiB at most. */
export const CA_FILE_BYTES_MAX = 1_048_576;

/** Why a `--ca` file cannot be used, worded for the command line. */
export class CaFileError extends Error {}

/** The PEM text of `path`, checked to hold at least one certificate. */
export function readCaFile(path: string): string {
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.length > CA_FILE_BYTES_MAX) throw new CaFileError(`--ca ${path}: larger than ${CA_FILE_BYTES_MAX} bytes, not a CA file`);
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof CaFileError) throw err;
    throw new CaFileError(`--ca ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new CaFileError(`--ca ${path}: holds no PEM certificate`);
  return text;
}

/** A fetch whose HTTPS requests trust exactly `ca` (PEM); plain HTTP goes to the global fetch. */
export function fetchTrusting(ca: string): typeof globalThis.fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol !== 'https:') return globalThis.fetch(input, init);
    const signal = init?.signal ?? undefined;
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    return new Promise<Response>((resolve, reject) => {
      // Failures read like the global fetch's: a TypeError whose cause names the socket or
      // certificate error, or the signal's own reason.
      const fail = (err: Error): void => reject(signal?.aborted === true ? signal.reason : new TypeError('fetch failed', { cause: err }));
      const req = httpsRequest(url, { method: 'GET', headers, ca, ...(signal === undefined ? {} : { signal }) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500 })));
        res.on('error', fail);
      });
      req.on('error', fail);
      req.end();
    });
  };
}

/** The fetch for a `--ca` flag: one trusting that file, or undefined (the global fetch) without it. */
export function fetchForCaFlag(path: string | undefined): typeof globalThis.fetch | undefined {
  return path === undefined || path === '' ? undefined : fetchTrusting(readCaFile(path));
}
