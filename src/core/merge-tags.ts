/**
 * The membership tag a node carries from the moment it leaves its cluster in a split-brain
 * merge until the winner admits it. Its join carries it, so the winner's members learn
 * with the node itself that data it held is still to be handed over (the sharding layer
 * then advertises exactly which partitions, and holds reads of them). Set and cleared by
 * the membership machine, read by the sharding layer: both see it here.
 */
export const MERGING_TAG = 'flotilla.merging';
