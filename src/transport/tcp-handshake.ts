/**
 * The opening of a framed TCP connection, one object per side. The dialer says who it is
 * (Hello, with its nonce); with a frame key, the listener answers with its own nonce only
 * (Challenge), the dialer proves the cluster secret over both (Proof), and only then does
 * the listener prove it back (Confirm). So each side proves it holds the secret before the
 * other accepts a single frame, and a party without the secret that dials a node learns
 * nothing derived from the secret: it gets a random nonce, never a proof to guess against
 * offline. Pure decisions over frames: the connection does the I/O.
 */
import { FlotillaError, isFlotillaError, type ErrorCode } from '../core/errors.js';
import type { DropReason } from './counters.js';
import {
  decodeChallenge,
  decodeErrorPayload,
  decodeHello,
  encodeChallenge,
  encodeErrorPayload,
  encodeHello,
  FrameKind,
  HELLO_VERSION,
  type Envelope,
  type Hello,
} from './envelope.js';
import { freshNonce, handshakeProof, macsEqual } from './frame-auth.js';

/** Why a handshake failed: the drop reason to count and the error to close with. */
export interface HandshakeFailure {
  readonly reason: DropReason;
  readonly error: FlotillaError;
}

/** A frame one side sends while handshaking. */
export interface HandshakeFrame {
  readonly kind: FrameKind;
  readonly payload: Uint8Array;
}

/** The result of one inbound handshake frame. */
export interface HandshakeStep {
  /** Sent back before anything else (also when the step fails: see `DialerHandshake`). */
  readonly reply?: HandshakeFrame;
  /** `pending`: more frames needed; `open`: frames may flow; else the connection must close. */
  readonly result: 'pending' | 'open' | HandshakeFailure;
}

/** The listener's view: Hello, then (with a key) the dialer's Proof, answered by Confirm. */
export class ListenerHandshake {
  /** The dialer's Hello, once read. Its address is trusted only once the step says `open`. */
  hello: Hello | undefined;
  /** Per accepted key (the frame key first): the dialer's proof we expect and our answer to it. */
  private expected: { readonly proof: Uint8Array; readonly confirmation: Uint8Array }[] | undefined;

  /**
   * @param key the frame key; undefined accepts any Hello (transport unit tests only).
   * @param channelBinding TLS keying material of the connection, read when needed.
   * @param acceptedKeys further keys a dialer may prove (a previous secret's during a rotation).
   */
  constructor(
    private readonly key: Uint8Array | undefined,
    private readonly channelBinding: () => Uint8Array,
    private readonly acceptedKeys: readonly Uint8Array[] = [],
  ) {}

  /** Handle the next frame read before the connection is open. */
  onFrame(envelope: Envelope): HandshakeStep {
    return this.expected === undefined ? this.onHello(envelope) : this.onProof(envelope, this.expected);
  }

  private onHello(envelope: Envelope): HandshakeStep {
    if (envelope.kind !== FrameKind.Hello) return fail('handshake-missing', 'FLO_CONNECTION_FAILED', 'first frame is not a handshake');
    let hello: Hello;
    try {
      hello = decodeHello(envelope.payload);
    } catch (err) {
      const code = isFlotillaError(err) ? err.code : 'FLO_DECODE_INVALID';
      if (code === 'FLO_PROTOCOL_VERSION') return refuse(code, code, `unsupported handshake version: this node speaks version ${HELLO_VERSION}`);
      return fail(code, 'FLO_CONNECTION_FAILED', `bad handshake: ${String(err)}`);
    }
    this.hello = hello;
    if (this.key === undefined) return { result: 'open' };
    if (hello.nonce === undefined) {
      return refuse('auth', 'FLO_AUTH_FAILED', 'this node requires the cluster secret and the dialer did not offer to authenticate');
    }
    const nonce = freshNonce();
    const binding = this.channelBinding();
    // Our own proofs are computed now but sent only once the dialer proved a secret, and
    // only the one made with the key the dialer proved.
    this.expected = [this.key, ...this.acceptedKeys].map((key) => ({
      proof: handshakeProof(key, 'dialer', envelope.payload, nonce, binding),
      confirmation: handshakeProof(key, 'listener', envelope.payload, nonce, binding),
    }));
    return { reply: { kind: FrameKind.Challenge, payload: encodeChallenge({ nonce }) }, result: 'pending' };
  }

  private onProof(envelope: Envelope, expected: readonly { readonly proof: Uint8Array; readonly confirmation: Uint8Array }[]): HandshakeStep {
    if (envelope.kind !== FrameKind.Proof) return refuse('auth', 'FLO_AUTH_FAILED', `expected the handshake proof, got a frame of kind ${envelope.kind}`);
    const match = expected.find((e) => macsEqual(e.proof, envelope.payload));
    if (match === undefined) {
      return refuse('auth', 'FLO_AUTH_FAILED', 'the dialer did not prove the cluster secret (another secret or cluster id, or a replayed handshake)');
    }
    return { reply: { kind: FrameKind.Confirm, payload: match.confirmation }, result: 'open' };
  }
}

/** The dialer's view: send Hello, then (with a key) answer the Challenge with Proof and check Confirm. */
export class DialerHandshake {
  /** The Hello frame to send first, with a fresh nonce when authenticating. */
  readonly hello: HandshakeFrame;
  /** The listener's proof we expect in its Confirm, once our Proof is sent. */
  private expectedConfirmation: Uint8Array | undefined;

  /**
   * @param key the frame key; undefined opens at once after the Hello (unit tests only).
   * @param peer the dialed address, for error messages.
   */
  constructor(
    private readonly key: Uint8Array | undefined,
    hello: Hello,
    private readonly peer: string,
    private readonly channelBinding: () => Uint8Array,
  ) {
    const nonce = key === undefined ? undefined : freshNonce();
    this.hello = { kind: FrameKind.Hello, payload: encodeHello({ address: hello.address, nodeId: hello.nodeId, nonce }) };
  }

  /** Whether the connection is open as soon as the Hello is sent. */
  get opensAtOnce(): boolean {
    return this.key === undefined;
  }

  /**
   * Handle the listener's next frame: its Challenge (answered with our Proof), then its
   * Confirm (checked), or an Error frame saying why it refused us. Our Proof covers a
   * transcript with our fresh nonce and the listener's, so it is of no use on any other
   * connection; it only ever goes to the address we chose to dial.
   */
  onFrame(envelope: Envelope): HandshakeStep {
    const key = this.key;
    if (key === undefined) return { result: 'open' };
    if (envelope.kind === FrameKind.Error) {
      const remote = safeErrorPayload(envelope.payload);
      const reason = remote.code === 'FLO_AUTH_FAILED' ? 'auth' : remote.code;
      return fail(reason, remote.code, `handshake with ${this.peer} refused: ${remote.message}`, this.peer);
    }
    return this.expectedConfirmation === undefined ? this.onChallenge(key, envelope) : this.onConfirm(envelope, this.expectedConfirmation);
  }

  private onChallenge(key: Uint8Array, envelope: Envelope): HandshakeStep {
    if (envelope.kind !== FrameKind.Challenge) {
      return fail('auth', 'FLO_AUTH_FAILED', `${this.peer} answered the handshake without a challenge: it does not authenticate (no cluster secret?)`, this.peer);
    }
    let challenge;
    try {
      challenge = decodeChallenge(envelope.payload);
    } catch (err) {
      return fail('auth', 'FLO_AUTH_FAILED', `${this.peer} sent a malformed challenge: ${String(err)}`, this.peer);
    }
    const binding = this.channelBinding();
    this.expectedConfirmation = handshakeProof(key, 'listener', this.hello.payload, challenge.nonce, binding);
    const reply = { kind: FrameKind.Proof, payload: handshakeProof(key, 'dialer', this.hello.payload, challenge.nonce, binding) };
    return { reply, result: 'pending' };
  }

  private onConfirm(envelope: Envelope, expected: Uint8Array): HandshakeStep {
    if (envelope.kind !== FrameKind.Confirm || !macsEqual(expected, envelope.payload)) {
      return fail('auth', 'FLO_AUTH_FAILED', `${this.peer} did not prove the cluster secret: it runs with another secret or cluster id`, this.peer);
    }
    return { result: 'open' };
  }
}

function fail(reason: DropReason, code: ErrorCode, message: string, peer?: string): HandshakeStep {
  return { result: { reason, error: new FlotillaError(code, message, peer === undefined ? undefined : { peer }) } };
}

/** A listener's refusal the dialer should hear about: an Error frame, then the close. */
function refuse(reason: DropReason, code: 'FLO_AUTH_FAILED' | 'FLO_PROTOCOL_VERSION', message: string): HandshakeStep {
  return { reply: { kind: FrameKind.Error, payload: encodeErrorPayload(code, message) }, result: { reason, error: new FlotillaError(code, message) } };
}

function safeErrorPayload(payload: Uint8Array): FlotillaError {
  try {
    return decodeErrorPayload(payload);
  } catch {
    return new FlotillaError('FLO_CONNECTION_FAILED', 'peer refused the handshake with an unreadable error');
  }
}
