/**
 * Defaults of `flotilla dev` that the command line shows in its help, apart from the
 * command itself so that building the program does not load it.
 */

/** Nodes started when `--nodes` is not given. */
export const DEV_NODES_DEFAULT = 3;
/** Admin API port of node 1 when `--http` is not given. */
export const DEV_HTTP_PORT_DEFAULT = 8080;
