/**
 * A connection-swap client: runs one session of STEPS steps through the director
 * (DIRECTOR=host:port), one at a time, and prints which worker served each. Kill the
 * worker it is on and the next steps go on elsewhere, with the total intact.
 */
const director = process.env.DIRECTOR ?? '127.0.0.1:8080';
const session = process.env.SESSION ?? `s-${process.pid}`;
const steps = Number(process.env.STEPS ?? 20);
let expected = 0;
for (let seq = 1; seq <= steps; seq++) {
  expected += seq;
  const res = await fetch(`http://${director}/session/${session}/step`, { method: 'POST', body: JSON.stringify({ seq, add: seq }) });
  const answer = (await res.json()) as { total?: number; worker?: string; attempts?: number; error?: string };
  if (res.status !== 200 || answer.total !== expected) throw new Error(`step ${seq}: ${res.status} ${JSON.stringify(answer)}`);
  process.stdout.write(`step ${seq} total ${answer.total} on ${answer.worker} (${answer.attempts} attempt(s))\n`);
  await new Promise((resolve) => setTimeout(resolve, Number(process.env.PAUSE_MS ?? 1_000)));
}
export {};
