import type { Action } from '../core/plan.js';
import { formatBytes } from '../controller/progress.js';
import type { SpaceReport } from '../endpoints/endpoint.js';

export type { SpaceReport };

/**
 * Will a plan fit? Pure: the controller asks the target endpoint for its free space (`Endpoint.freeSpace`) and
 * refuses before any byte moves when the bytes the plan writes exceed it.
 */

/**
 * Bytes the copies of a plan need on their side. Every file is written to a partial file beside its target and
 * renamed into place, so a file that replaces another needs only what it adds (new size − old size) once it is
 * in place, but both exist while it is written: the largest replaced file is counted whole, as headroom for
 * the transfer in flight. Deletions run after the copies and are not credited.
 */
export function bytesToWrite(actions: readonly Action[]): number {
  let total = 0;
  let largestReplaced = 0;
  for (const action of actions) {
    if (action.kind !== 'copy' || action.source.kind !== 'file') continue;
    const old = action.replaces?.kind === 'file' ? action.replaces.size : 0;
    total += Math.max(0, action.source.size - old);
    largestReplaced = Math.max(largestReplaced, Math.min(old, action.source.size));
  }
  return total + largestReplaced;
}

export type CapacityVerdict =
  | { readonly ok: true; readonly neededBytes: number; readonly availableBytes?: number }
  | { readonly ok: false; readonly neededBytes: number; readonly availableBytes: number; readonly message: string };

/** Compares what a plan needs with the free space and the remaining quota (the smaller of the two limits). */
export function checkCapacity(neededBytes: number, space: SpaceReport | undefined, target: string): CapacityVerdict {
  // Nothing to write, or nothing known about the target: nothing to refuse.
  if (neededBytes === 0 || space === undefined) return { ok: true, neededBytes };
  const byQuota = space.quotaRemainingBytes !== undefined && space.quotaRemainingBytes < space.freeBytes;
  const availableBytes = Math.max(0, byQuota ? (space.quotaRemainingBytes ?? 0) : space.freeBytes);
  if (neededBytes <= availableBytes) return { ok: true, neededBytes, availableBytes };
  const limit = byQuota ? `the quota of ${space.where} allows` : `${space.where} has`;
  return {
    ok: false,
    neededBytes,
    availableBytes,
    message:
      `this sync needs ${formatBytes(neededBytes)} on ${target} but ${limit} only ${formatBytes(availableBytes)} free; ` +
      'nothing was sent. Free space there, ask for a larger claim, or sync less (an ignore rule, a subfolder)',
  };
}
