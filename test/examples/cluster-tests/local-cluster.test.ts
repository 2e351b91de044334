// The local-cluster launcher's pure parts: its flags and how it renders runner logs.
import { describe, expect, it } from 'vitest';
import { parseLocalClusterArgs, renderLine } from '../../../examples/cluster-tests/src/local-cluster.js';


describe('local cluster launcher', () => {
  it('defaults to 3 runners on 8080.. and 7946..', () => {
    expect(parseLocalClusterArgs([], {})).toMatchObject({ nodes: 3, http: '127.0.0.1:8080', admin: '127.0.0.1:9080', clusterPort: 7946 });
  });

  it('takes flags over the environment', () => {
    const options = parseLocalClusterArgs(['--nodes', '5', '--http', '127.0.0.1:0', '--cluster-port', '0', '--admin', '127.0.0.1:0', '--data', '/tmp/d'], { LISTEN_ADDR: '127.0.0.1:1' });
    expect(options).toEqual({ nodes: 5, http: '127.0.0.1:0', clusterPort: 0, admin: '127.0.0.1:0', dataDir: '/tmp/d' });
  });

  it.each([[['--nodes', '0']], [['--nodes', '17']], [['--http', 'nope']], [['--cluster-port', '65535', '--nodes', '2']], [['--bogus']]])('refuses %j', (argv) => {
    expect(() => parseLocalClusterArgs(argv, {})).toThrow();
  });

  it.each([
    ['{"level":30,"time":0,"msg":"hello","nodeId":"r1","pid":1,"hostname":"h"}', '[runner-1] 00:00:00.000 INFO hello {"nodeId":"r1"}'],
    ['{"level":50,"time":0,"msg":"bad"}', '[runner-1] 00:00:00.000 ERROR bad'],
    ['plain text', '[runner-1] plain text'],
  ])('renders %s', (line, expected) => {
    expect(renderLine('runner-1', line)).toBe(expected);
  });
});
