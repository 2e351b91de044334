/**
 * Port ranges for the cluster-tests suites that start clusters of their own: bases whose
 * next ports are free for TCP and UDP right now, so two e2e files running at once (or any
 * other process) do not collide on fixed numbers.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

function free(port: number): Promise<boolean> {
  const tcp = new Promise<boolean>((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => done(true)));
  });
  const udp = new Promise<boolean>((done) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      done(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => done(true)));
  });
  return Promise.all([tcp, udp]).then(([a, b]) => a && b);
}

/**
 * Ports are taken below the kernel's ephemeral range (32768 and up on Linux): a runner
 * restarted on the same port would otherwise race every outgoing connection on the machine
 * for it, and lose now and then with EADDRINUSE.
 */
const LOW = 10_000;
const HIGH = 32_000;

/** A base port whose next `count` ports are free (TCP and UDP) right now. */
export async function freeRange(count: number, avoid: number[] = []): Promise<number> {
  const span = HIGH - LOW - count;
  const start = (process.pid % 1_000) * 20;
  for (let step = 0; step < span; step += count + 7) {
    const base = LOW + ((start + step) % span);
    if (avoid.some((a) => Math.abs(a - base) < 16)) continue;
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if ((await Promise.all(ports.map(free))).every(Boolean)) return base;
  }
  throw new Error('no free port range');
}
