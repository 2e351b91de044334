/**
 * Codecs of the partition-addressed service operations: `ServiceRequest` and its answer
 * `ServiceResponse`, the one generic path every hosted service (KV store, grid,
 * entities) routes through. Field order is the wire order and never changes.
 */
import type { ServiceRequest, ServiceResponse } from './messages.js';
import { ERROR_CODE_BYTES_MAX, OP_ID_BYTES_MAX, PAYLOAD_BYTES_MAX, REASON_BYTES_MAX, SERVICE_NAME_BYTES_MAX } from './limits.js';
import type { MessageLayout } from './message-layout.js';
import { invalid, readAddress, readBool, readBytes, readNodeId, readOptional, readString, readUint, readUint32 } from './validate.js';

function readOpId(v: unknown, path: string): string {
  return readString(v, path, OP_ID_BYTES_MAX, 1);
}

/** `[service, partition, opId, forward, payload (bin)]` */
export const serviceRequestCodec: MessageLayout<ServiceRequest> = {
  arity: 5,
  toWire: (m) => [m.service, m.partition, m.opId, m.forward, m.payload],
  fromWire: (ctx, f) => ({
    type: 'ServiceRequest',
    service: readString(f[0], 'service', SERVICE_NAME_BYTES_MAX, 1),
    partition: readUint32(f[1], 'partition'),
    opId: readOpId(f[2], 'opId'),
    forward: readBool(f[3], 'forward'),
    payload: readBytes(ctx, f[4], 'payload', PAYLOAD_BYTES_MAX),
  }),
};

/**
 * `[opId, ok, payload | nil, errorCode | nil, errorMessage | nil, owner | nil,
 * ownerAddress | nil, tableVersion | nil]`. A failure needs an errorCode; a success has none.
 */
export const serviceResponseCodec: MessageLayout<ServiceResponse> = {
  arity: 8,
  toWire: (m) => [
    m.opId,
    m.ok,
    m.payload ?? null,
    m.errorCode ?? null,
    m.errorMessage ?? null,
    m.owner ?? null,
    m.ownerAddress ?? null,
    m.tableVersion ?? null,
  ],
  fromWire: (ctx, f) => {
    const opId = readOpId(f[0], 'opId');
    const ok = readBool(f[1], 'ok');
    const payload = readOptional(f[2], (x) => readBytes(ctx, x, 'payload', PAYLOAD_BYTES_MAX));
    const errorCode = readOptional(f[3], (x) => readString(x, 'errorCode', ERROR_CODE_BYTES_MAX, 1));
    const errorMessage = readOptional(f[4], (x) => readString(x, 'errorMessage', REASON_BYTES_MAX));
    const owner = readOptional(f[5], (x) => readNodeId(x, 'owner'));
    const ownerAddress = readOptional(f[6], (x) => readAddress(x, 'ownerAddress'));
    const tableVersion = readOptional(f[7], (x) => readUint(x, 'tableVersion'));
    if (!ok && errorCode === undefined) invalid('errorCode', 'a code when not ok');
    if (ok && errorCode !== undefined) invalid('errorCode', 'no code when ok');
    return {
      type: 'ServiceResponse',
      opId,
      ok,
      ...(payload === undefined ? {} : { payload }),
      ...(errorCode === undefined ? {} : { errorCode }),
      ...(errorMessage === undefined ? {} : { errorMessage }),
      ...(owner === undefined ? {} : { owner }),
      ...(ownerAddress === undefined ? {} : { ownerAddress }),
      ...(tableVersion === undefined ? {} : { tableVersion }),
    };
  },
};
