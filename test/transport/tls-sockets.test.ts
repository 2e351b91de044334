// How TLS failures are classified and put into words for the logs: table-driven over the
// error codes Node and OpenSSL report.
import { describe, expect, it } from 'vitest';
import { describeTlsFailure, isTlsError } from '../../src/transport/tls-sockets.js';

function err(code: string | undefined, message = 'boom'): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

describe('isTlsError', () => {
  it.each([
    ['ERR_SSL_WRONG_VERSION_NUMBER', true],
    ['ERR_TLS_HANDSHAKE_TIMEOUT', true],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', true],
    ['SELF_SIGNED_CERT_IN_CHAIN', true],
    ['CERT_HAS_EXPIRED', true],
    ['ECONNRESET', false],
    ['ECONNREFUSED', false],
    [undefined, false],
  ])('%s -> %s', (code, expected) => expect(isTlsError(err(code))).toBe(expected));

  it('is false for things that are not errors', () => {
    expect(isTlsError('ERR_SSL_X')).toBe(false);
    expect(isTlsError(null)).toBe(false);
  });
});

describe('describeTlsFailure', () => {
  it.each([
    ['ERR_SSL_WRONG_VERSION_NUMBER', /^peer does not speak TLS/],
    ['ERR_SSL_HTTP_REQUEST', /^peer does not speak TLS/],
    ['ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE', /^no client certificate presented/],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', /^no client certificate presented/],
    ['ERR_TLS_HANDSHAKE_TIMEOUT', /^TLS handshake timed out$/],
    ['ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', /^peer refused the handshake, probably our certificate/],
    ['SELF_SIGNED_CERT_IN_CHAIN', /^certificate not trusted \(SELF_SIGNED_CERT_IN_CHAIN\): boom$/],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', /^certificate not trusted/],
    ['CERT_HAS_EXPIRED', /^certificate not trusted/],
    ['ECONNRESET', /^connection closed during the TLS handshake/],
    ['EPIPE', /^EPIPE: boom$/],
  ])('%s', (code, expected) => expect(describeTlsFailure(err(code))).toMatch(expected));

  it('prefers the verification failure Node recorded on the socket', () => {
    expect(describeTlsFailure(err('ECONNRESET'), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')).toBe('peer certificate not trusted by our CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE)');
    expect(describeTlsFailure(err('ECONNRESET'), err('CERT_HAS_EXPIRED'))).toBe('peer certificate not trusted by our CA (CERT_HAS_EXPIRED)');
  });
});
