// The in-process socket behind the client tests that script a gateway: it speaks the real
// client frames (encoded and decoded by the protocol module), delivers every message and
// close in a later microtask as a network would, and leaves what the gateway answers to
// each test.
import type { ClientSocket } from '../../src/client/socket.js';
import { decodeClientFrame, encodeServerFrame, type ClientFrame, type ServerFrame } from '../../src/protocol/client-frames.js';

/** The largest client frame the scripted gateway decodes, bytes. */
const FRAME_BYTES_MAX = 1 << 20;

/** `readyState` values of the WebSocket standard. */
const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

/**
 * A socket whose other end is a scripted gateway: subclasses answer each decoded frame in
 * `receive` by calling `reply` (or `drop` to lose the connection). By default the gateway
 * accepts the connection and asks for a token, as a real one does; override `accept` to refuse.
 */
export abstract class ScriptedSocket implements ClientSocket {
  binaryType = 'arraybuffer';
  readyState = CONNECTING;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { readonly data: unknown }) => void) | null = null;
  onclose: ((event: { readonly code: number }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor() {
    // Later, as a real handshake is: the client sets its handlers after construction.
    queueMicrotask(() => this.accept());
  }

  /** The gateway's answer to a frame the client sent. */
  protected abstract receive(frame: ClientFrame): void;

  /** Opens the connection and sends AUTH_REQUIRED. */
  protected accept(): void {
    this.readyState = OPEN;
    this.onopen?.({});
    this.reply({ type: 'AUTH_REQUIRED' });
  }

  send(data: Uint8Array): void {
    this.receive(decodeClientFrame(data, FRAME_BYTES_MAX));
  }

  close(): void {
    this.drop();
  }

  /** Sends `frame` to the client, unless the connection is not open. */
  reply(frame: ServerFrame): void {
    if (this.readyState !== OPEN) return;
    const bytes = encodeServerFrame(frame);
    queueMicrotask(() => this.onmessage?.({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) }));
  }

  /** Loses the connection (code 1006, as a crash or a network cut); nothing is delivered after. */
  drop(): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    queueMicrotask(() => this.onclose?.({ code: 1006 }));
  }
}
