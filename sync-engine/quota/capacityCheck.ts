import type { Plan, Side } from '../core/plan.js';
import type { Endpoint, SpaceReport } from '../endpoints/endpoint.js';
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
  asked?: SpaceAsked,
): Promise<void> {
  for (const side of ['remote', 'local'] as const) {
    const endpoint = endpoints[side];
    const needed = bytesToWrite(plan[side]);
    if (needed === 0 || endpoint.freeSpace === undefined) continue;
    const early = await asked?.[side];
    if (early instanceof Error) throw early;
    const space = early !== undefined ? early.space : await endpoint.freeSpace(signal === undefined ? {} : { signal });
    const verdict = checkCapacity(needed, space, endpoint.displayName);
    if (!verdict.ok) throw new TetherError('no-space', verdict.message);
  }
}

/** Free space asked for ahead of the plan: each side's answer, or why asking failed. */
export type SpaceAsked = Readonly<
  Record<Side, Promise<{ readonly space: SpaceReport | undefined } | Error | undefined>>
>;

/**
 * Asks both sides for their free space now, while the scans run, for a sync that will most likely write (live
 * sync's narrowed sync: something changed). A failure is kept, and thrown only if the plan needs that side.
 */
export function askFreeSpace(endpoints: Record<Side, Endpoint>, signal?: AbortSignal): SpaceAsked {
  const ask = (endpoint: Endpoint): SpaceAsked[Side] =>
    endpoint.freeSpace === undefined
      ? Promise.resolve(undefined)
      : endpoint.freeSpace(signal === undefined ? {} : { signal }).then(
          (space) => ({ space }),
          (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
        );
  return { local: ask(endpoints.local), remote: ask(endpoints.remote) };
}
