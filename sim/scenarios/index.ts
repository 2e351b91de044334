/**
 * The scenario registry: every scenario the CLI and the scenario tests know, by name.
 */
import type { Scenario } from '../scenario.js';
import { adaptiveTimeoutScenario } from './adaptive-timeout.js';
import { cascadeScenario } from './cascade-3-of-5.js';
import { detectScenario } from './detect.js';
import { disseminateScenario } from './disseminate.js';
import { loss20Scenario } from './loss-20.js';
import { partition32Scenario } from './partition-3-2.js';
import { pauseScenario } from './pause.js';
import { pingScenario } from './ping.js';
import { scaleScenario } from './scale.js';
import { killOwnerMidMigrationScenario, masterCrashMidWaveScenario } from './sharding-crashes.js';
import { joinUnderWritesScenario, leaveUnderWritesScenario } from './sharding-planned.js';
import { flappingMasterScenario, flappingMemberScenario, split32ShortHealScenario, split32WritesScenario } from './sharding-splits.js';
import { frozenMasterRebalancingScenario, frozenMasterScenario } from './sharding-freeze.js';
import { seedsDownScenario } from './seeds-down.js';
import { singletonMovesScenario } from './sharding-singletons.js';
import { splitBrain32Scenario, splitBrain3WayScenario, splitBrainHeldTcpScenario, splitBrainTieScenario } from './split-brain.js';
import { tagRaceScenario } from './tag-race.js';
import { workflowCrashesScenario } from './workflow-crashes.js';

/** Every registered scenario, in the order the CLI lists them. */
export const scenarios: readonly Scenario[] = [
  pingScenario,
  detectScenario,
  disseminateScenario,
  partition32Scenario,
  cascadeScenario,
  loss20Scenario,
  seedsDownScenario,
  tagRaceScenario,
  pauseScenario,
  splitBrain32Scenario,
  splitBrainTieScenario,
  splitBrain3WayScenario,
  splitBrainHeldTcpScenario,
  adaptiveTimeoutScenario,
  joinUnderWritesScenario,
  leaveUnderWritesScenario,
  killOwnerMidMigrationScenario,
  masterCrashMidWaveScenario,
  split32WritesScenario,
  flappingMemberScenario,
  split32ShortHealScenario,
  flappingMasterScenario,
  frozenMasterScenario,
  frozenMasterRebalancingScenario,
  singletonMovesScenario,
  workflowCrashesScenario,
  scaleScenario,
];

/** The scenario called `name`, or undefined. */
export function findScenario(name: string): Scenario | undefined {
  return scenarios.find((s) => s.name === name);
}
