import type { Plan, Side } from '../core/plan.js';
import type { Endpoint } from '../endpoints/endpoint.js';
import { TetherError } from '../errors.js';
import { bytesToWrite, checkCapacity } from './capacity.js';

/**
 * The capacity check before a sync applies anything: for each side the plan writes to, asks the endpoint for
 * its free space (endpoints that cannot tell are not checked) and throws `no-space`, saying how much is needed
 * and how much is free, when the plan will not fit. Nothing has been sent at that point.
 */
export async function refuseIfPlanDoesNotFit(
  plan: Plan,
  endpoints: Record<Side, Endpoint>,
  signal?: AbortSignal,
): Promise<void> {
  for (const side of ['remote', 'local'] as const) {
    const endpoint = endpoints[side];
    const needed = bytesToWrite(plan[side]);
    if (needed === 0 || endpoint.freeSpace === undefined) continue;
    const space = await endpoint.freeSpace(signal === undefined ? {} : { signal });
    const verdict = checkCapacity(needed, space, endpoint.displayName);
    if (!verdict.ok) throw new TetherError('no-space', verdict.message);
  }
}
