// The TCP handshake as pure objects, frame by frame: matching keys open both sides after
// Hello, Challenge, Proof, Confirm; the listener reveals nothing derived from the secret
// before the dialer proved it; a wrong key, a replayed transcript, a reflected proof or a
// dialer that does not authenticate is refused with a counted reason, and the listener
// tells the dialer why.
import { describe, expect, it } from 'vitest';
import { pack } from 'msgpackr';
import { decodeErrorPayload, encodeErrorPayload, FrameKind, type Envelope } from '../../src/transport/envelope.js';
import { deriveFrameAuthKey } from '../../src/transport/frame-auth.js';
import { DialerHandshake, ListenerHandshake, type HandshakeFrame, type HandshakeStep } from '../../src/transport/tcp-handshake.js';

const KEY = deriveFrameAuthKey('a-long-cluster-secret-0123', 'flotilla');
const WRONG = deriveFrameAuthKey('another-secret-entirely-456', 'flotilla');
const HELLO = { address: '127.0.0.1:7946', nodeId: 'n2' };
const noBinding = (): Uint8Array => new Uint8Array(0);

function envelope(frame: HandshakeFrame): Envelope {
  return { kind: frame.kind, correlationId: 0, payload: frame.payload };
}

function reply(step: HandshakeStep): HandshakeFrame {
  if (step.reply === undefined) throw new Error('expected a reply frame');
  return step.reply;
}

function failure(step: HandshakeStep): { reason: string; code: string; message: string } {
  if (typeof step.result === 'string') throw new Error(`expected a failure, got ${step.result}`);
  return { reason: step.result.reason, code: step.result.error.code, message: step.result.error.message };
}

/** Runs a full handshake; returns the frames each side sent and the final steps. */
function run(dialerKey: Uint8Array | undefined, listenerKey: Uint8Array | undefined) {
  const dialer = new DialerHandshake(dialerKey, HELLO, '127.0.0.1:7000', noBinding);
  const listener = new ListenerHandshake(listenerKey, noBinding);
  const challengeStep = listener.onFrame(envelope(dialer.hello));
  const dialerStep = challengeStep.reply === undefined ? undefined : dialer.onFrame(envelope(challengeStep.reply));
  const listenerStep = dialerStep?.reply === undefined ? undefined : listener.onFrame(envelope(dialerStep.reply));
  const confirmStep = listenerStep?.reply === undefined ? undefined : dialer.onFrame(envelope(listenerStep.reply));
  return { dialer, listener, challengeStep, dialerStep, listenerStep, confirmStep };
}

describe('the authenticated handshake', () => {
  it('opens both sides with matching keys: Hello, Challenge, Proof, Confirm', () => {
    const { dialer, listener, challengeStep, dialerStep, listenerStep, confirmStep } = run(KEY, KEY);
    expect(dialer.opensAtOnce).toBe(false);
    expect(challengeStep.result).toBe('pending');
    expect(reply(challengeStep).kind).toBe(FrameKind.Challenge);
    expect(dialerStep?.result).toBe('pending');
    expect(dialerStep && reply(dialerStep).kind).toBe(FrameKind.Proof);
    expect(listenerStep?.result).toBe('open');
    expect(listenerStep && reply(listenerStep).kind).toBe(FrameKind.Confirm);
    expect(confirmStep).toEqual({ result: 'open' });
    expect(listener.hello).toMatchObject(HELLO);
  });

  it('answers a Hello with a bare nonce: nothing a party without the secret could guess the secret against', () => {
    const listener = new ListenerHandshake(KEY, noBinding);
    const hello = new DialerHandshake(WRONG, HELLO, '127.0.0.1:7000', noBinding).hello;
    const challenges = [0, 1].map(() => reply(new ListenerHandshake(KEY, noBinding).onFrame(envelope(hello))).payload);
    expect(challenges.map((c) => c.length)).toEqual([16, 16]);
    // Two challenges to the same Hello share nothing: each is fresh randomness, not a function of the key.
    expect(Buffer.from(challenges[0]!).equals(Buffer.from(challenges[1]!))).toBe(false);
    expect(reply(listener.onFrame(envelope(hello))).kind).toBe(FrameKind.Challenge);
  });

  it('refuses when the keys differ: the listener refuses the proof and never sends its own', () => {
    const { dialerStep, listenerStep, confirmStep } = run(WRONG, KEY);
    expect(dialerStep?.result).toBe('pending');
    expect(reply(dialerStep!).kind).toBe(FrameKind.Proof);
    expect(failure(listenerStep!)).toMatchObject({ reason: 'auth', code: 'FLO_AUTH_FAILED' });
    expect(reply(listenerStep!).kind).toBe(FrameKind.Error);
    expect(decodeErrorPayload(reply(listenerStep!).payload).code).toBe('FLO_AUTH_FAILED');
    expect(failure(confirmStep!)).toMatchObject({ reason: 'auth', code: 'FLO_AUTH_FAILED' });
  });

  it('the dialer refuses a Confirm that does not prove the secret', () => {
    const dialer = new DialerHandshake(KEY, HELLO, '127.0.0.1:7000', noBinding);
    const listener = new ListenerHandshake(KEY, noBinding);
    dialer.onFrame(envelope(reply(listener.onFrame(envelope(dialer.hello)))));
    const forged = { kind: FrameKind.Confirm, payload: new Uint8Array(32).fill(9) };
    expect(failure(dialer.onFrame(envelope(forged)))).toMatchObject({ reason: 'auth', code: 'FLO_AUTH_FAILED' });
    expect(failure(dialer.onFrame({ kind: FrameKind.Message, correlationId: 0, payload: new Uint8Array(1) }))).toMatchObject({ reason: 'auth' });
  });

  it('refuses a replayed dialer transcript: the listener picks a new nonce each time', () => {
    const recorded = run(KEY, KEY);
    expect(recorded.listenerStep?.result).toBe('open');
    const listener = new ListenerHandshake(KEY, noBinding);
    const challenge = listener.onFrame(envelope(recorded.dialer.hello));
    expect(challenge.result).toBe('pending');
    expect(Buffer.from(reply(challenge).payload).equals(Buffer.from(reply(recorded.challengeStep).payload))).toBe(false);
    expect(failure(listener.onFrame(envelope(reply(recorded.dialerStep!))))).toMatchObject({ reason: 'auth', code: 'FLO_AUTH_FAILED' });
  });

  it('refuses a replayed listener confirmation: the dialer picks a new nonce each time', () => {
    const recorded = run(KEY, KEY);
    const dialer = new DialerHandshake(KEY, HELLO, '127.0.0.1:7000', noBinding);
    expect(dialer.onFrame(envelope(reply(recorded.challengeStep))).result).toBe('pending');
    expect(failure(dialer.onFrame(envelope(reply(recorded.listenerStep!))))).toMatchObject({ reason: 'auth', code: 'FLO_AUTH_FAILED' });
  });

  it('refuses a dialer proof reflected back as the listener confirmation', () => {
    const dialer = new DialerHandshake(KEY, HELLO, '127.0.0.1:7000', noBinding);
    const listener = new ListenerHandshake(KEY, noBinding);
    const proof = reply(dialer.onFrame(envelope(reply(listener.onFrame(envelope(dialer.hello))))));
    const reflected = { kind: FrameKind.Confirm, payload: proof.payload };
    expect(failure(dialer.onFrame(envelope(reflected)))).toMatchObject({ reason: 'auth' });
  });

  it('binds the proofs to the TLS channel: different keying material fails', () => {
    const dialer = new DialerHandshake(KEY, HELLO, '127.0.0.1:7000', () => new Uint8Array(32).fill(1));
    const listener = new ListenerHandshake(KEY, () => new Uint8Array(32).fill(2));
    const proof = reply(dialer.onFrame(envelope(reply(listener.onFrame(envelope(dialer.hello))))));
    expect(failure(listener.onFrame(envelope(proof)))).toMatchObject({ reason: 'auth' });
  });

  it('refuses a dialer that does not authenticate, telling it why', () => {
    const { challengeStep } = run(undefined, KEY);
    expect(failure(challengeStep)).toMatchObject({ reason: 'auth', code: 'FLO_AUTH_FAILED' });
    expect(decodeErrorPayload(reply(challengeStep).payload).message).toMatch(/requires the cluster secret/);
  });

  const listenerRefusals: [string, HandshakeFrame, string][] = [
    ['a first frame that is not a Hello', { kind: FrameKind.Message, payload: new Uint8Array(3) }, 'handshake-missing'],
    ['a Hello of the first version', { kind: FrameKind.Hello, payload: pack({ v: 1, address: '127.0.0.1:1' }) }, 'FLO_PROTOCOL_VERSION'],
    ['a Hello of the version where the listener proved first', { kind: FrameKind.Hello, payload: pack({ v: 2, address: '127.0.0.1:1' }) }, 'FLO_PROTOCOL_VERSION'],
    ['a Hello that is not msgpack', { kind: FrameKind.Hello, payload: Uint8Array.from([0xc1]) }, 'FLO_DECODE_INVALID'],
  ];
  it.each(listenerRefusals)('refuses %s', (_name, frame, reason) => {
    expect(failure(new ListenerHandshake(KEY, noBinding).onFrame(envelope(frame))).reason).toBe(reason);
  });

  it('refuses anything but a Proof after the Challenge', () => {
    const listener = new ListenerHandshake(KEY, noBinding);
    listener.onFrame(envelope(new DialerHandshake(KEY, HELLO, 'x', noBinding).hello));
    expect(failure(listener.onFrame({ kind: FrameKind.Request, correlationId: 1, payload: new Uint8Array(0) }))).toMatchObject({ reason: 'auth' });
  });

  const dialerRefusals: [string, HandshakeFrame, string, string][] = [
    ['a frame that is not a challenge', { kind: FrameKind.Message, payload: new Uint8Array(3) }, 'auth', 'FLO_AUTH_FAILED'],
    ['a challenge of the wrong length', { kind: FrameKind.Challenge, payload: new Uint8Array(48) }, 'auth', 'FLO_AUTH_FAILED'],
    ['the listener refusing our version', { kind: FrameKind.Error, payload: encodeErrorPayload('FLO_PROTOCOL_VERSION', 'v') }, 'FLO_PROTOCOL_VERSION', 'FLO_PROTOCOL_VERSION'],
    ['the listener refusing our proof', { kind: FrameKind.Error, payload: encodeErrorPayload('FLO_AUTH_FAILED', 'no') }, 'auth', 'FLO_AUTH_FAILED'],
  ];
  it.each(dialerRefusals)('the dialer refuses %s', (_name, frame, reason, code) => {
    const dialer = new DialerHandshake(KEY, HELLO, '127.0.0.1:7000', noBinding);
    expect(failure(dialer.onFrame(envelope(frame)))).toMatchObject({ reason, code });
  });
});

describe('the unauthenticated handshake (transport unit tests only)', () => {
  it('opens the dialer at once and the listener on the Hello', () => {
    const { dialer, challengeStep } = run(undefined, undefined);
    expect(dialer.opensAtOnce).toBe(true);
    expect(challengeStep).toEqual({ result: 'open' });
  });

  it('opens a listener without a key even for a dialer that offers a nonce', () => {
    expect(run(KEY, undefined).challengeStep).toEqual({ result: 'open' });
  });
});
