// Runs inside a network namespace (`ip netns exec NS node --import tsx netns-relay.ts SOCKET`) and lets
// the test process, outside it, open TCP connections there: a Unix socket lives in the
// file system, which network namespaces do not separate. Each client writes one line,
// `host:port\n`, then the relay pipes the connection to that address both ways.
import { createConnection, createServer, type Socket } from 'node:net';

/** Longest target line accepted, so a bad client cannot make the relay buffer without end. */
const TARGET_LINE_BYTES_MAX = 256;

const socketPath = process.argv[2];
if (socketPath === undefined) {
  process.stderr.write('usage: netns-relay.ts SOCKET\n');
  process.exit(2);
}

const server = createServer((client: Socket) => {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const newline = head.indexOf(10);
    if (newline < 0) {
      if (head.length > TARGET_LINE_BYTES_MAX) client.destroy();
      return;
    }
    client.off('data', onData);
    client.pause();
    const target = head.subarray(0, newline).toString('utf8');
    const rest = head.subarray(newline + 1);
    const colon = target.lastIndexOf(':');
    const upstream = createConnection({ host: target.slice(0, colon), port: Number(target.slice(colon + 1)) });
    upstream.on('connect', () => {
      if (rest.length > 0) upstream.write(rest);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  };
  client.on('data', onData);
  client.on('error', () => client.destroy());
});
server.listen(socketPath, () => process.stdout.write('relay listening\n'));
process.on('SIGTERM', () => process.exit(0));
