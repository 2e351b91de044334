/**
 * Durable execution's public face: workflows with journaled activities, durable sleeps
 * and timers, and the services that host them on partition owners.
 */
export { defineWorkflow, type ActivityContext, type ActivityOptions, type AnyWorkflowDefinition, type WorkflowContext, type WorkflowDefinition, type WorkflowFn } from './workflow-definition.js';
export type { FiredTimer, FiringChanges, TimerKind } from './timer-kind.js';
export { TimerService, TIMER_SERVICE, type TimerSpec } from './timer-service.js';
export { WorkflowService, WORKFLOW_SERVICE, type WorkflowExecution } from './workflow-service.js';
export { DurableRuntime, type DurableRuntimeOptions } from './durable-runtime.js';
export { DEFAULT_DURABLE_CONFIG, resolveDurableConfig, type DurableConfig } from './durable-config.js';
