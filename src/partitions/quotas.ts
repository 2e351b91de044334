/**
 * Floor/ceil quotas for assignment: how many owned partitions or backup slots each member
 * should hold, and the priority order deciding who gets the remainder.
 */

/**
 * Split `total` into one share per member, each `floor(total / n)` or one more. The
 * extra units go to members in `priority` order (member indices), skipping any whose
 * share would exceed `cap[m]`; a member whose cap is below the floor gets its cap, and
 * the shortfall goes to the next members in priority order that still have room.
 */
export function balancedQuotas(total: number, priority: readonly number[], cap?: Int32Array): Int32Array {
  const n = priority.length;
  const quota = new Int32Array(n);
  if (n === 0) return quota;
  const base = Math.floor(total / n);
  let remaining = total;
  for (let m = 0; m < n; m++) {
    quota[m] = cap === undefined ? base : Math.min(base, cap[m]!);
    remaining -= quota[m]!;
  }
  // First one unit above the floor per member, then (only when caps forced a shortfall) up to each cap.
  for (let pass = 0; pass < 2 && remaining > 0; pass++) {
    for (const m of priority) {
      if (remaining === 0) break;
      const ceiling = cap?.[m] ?? base + 1;
      const limit = pass === 0 ? Math.min(base + 1, ceiling) : ceiling;
      const give = Math.min(limit - quota[m]!, remaining);
      if (give > 0) {
        quota[m] = quota[m]! + give;
        remaining -= give;
      }
    }
  }
  return quota;
}

/**
 * Member indices sorted by the given key descending, ties by index ascending (indices
 * are ranks, so ties resolve deterministically).
 */
export function byKeyDescending(keys: Int32Array, secondary?: Int32Array): number[] {
  const order = new Array<number>(keys.length);
  for (let i = 0; i < keys.length; i++) order[i] = i;
  order.sort((a, b) => keys[b]! - keys[a]! || (secondary === undefined ? 0 : secondary[a]! - secondary[b]!) || a - b);
  return order;
}
