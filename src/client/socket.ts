/**
 * The WebSocket the client needs, as a minimal structural type: the browser's (and Node
 * 22's) global `WebSocket` fits it, and so does the `ws` package's class, which tests on
 * Node 20 inject. Only the event-handler properties are used, never Node's EventEmitter.
 */

/** A WebSocket as the client uses it. */
export interface ClientSocket {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  onclose: ((event: { readonly code: number }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** A WebSocket constructor (`globalThis.WebSocket`, or `ws`'s `WebSocket`). */
export type SocketConstructor = new (url: string) => ClientSocket;

/** `readyState` of an open WebSocket (the same in every implementation). */
export const SOCKET_OPEN = 1;

/** The bytes of a received message, or undefined for a text message. */
export function messageBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (data instanceof Uint8Array) return data;
  return undefined;
}
