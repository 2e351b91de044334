// `flotilla dev` passes its per-cluster flags to every node's `flotilla start`, checked once
// before any node starts.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/cli-options.js';
import { planDev } from '../../src/cli/dev-command.js';

describe('flotilla dev: the plan of its nodes', () => {
  it('gives every node the --swim and --kv overrides', async () => {
    const plan = await planDev({ nodes: '2', http: '0', swim: 'probeIntervalMs=200', kv: 'writeCopiesMin=2' });
    expect(plan.nodes).toHaveLength(2);
    for (const node of plan.nodes) {
      expect(node.args.join(' ')).toContain('--swim probeIntervalMs=200');
      expect(node.args.join(' ')).toContain('--kv writeCopiesMin=2');
    }
  });

  it('refuses a map store setting that does not exist before starting anything', async () => {
    await expect(planDev({ nodes: '1', http: '0', kv: 'copies=2' })).rejects.toThrow(UsageError);
  });
});
