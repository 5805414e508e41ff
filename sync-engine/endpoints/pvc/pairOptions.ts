import { TetherError } from '../../errors.js';

/** The `tether pair add` flags of pvc:// remotes (commander's camel-cased names). */
export interface PvcFlags {
  readonly kubeconfig?: string;
  readonly helperImage?: string;
  readonly pod?: string;
  readonly execProtocol?: string;
  /** Parallel transfers and exec sessions for this pair (any remote; `tether sync --concurrency` overrides). */
  readonly concurrency?: string;
  /** Seconds the helper pod waits unused for the next sync (0: deleted after each sync). */
  readonly helperIdle?: string;
}

/** The pair options those flags store (read back by `pvcOptionsFrom`); no secrets: credentials stay in the kubeconfig. */
export function pvcPairOptions(flags: PvcFlags): Record<string, string> {
  if (flags.execProtocol !== undefined && flags.execProtocol !== 'auto' && flags.execProtocol !== 'v4')
    throw new TetherError('bad-argument', `--exec-protocol must be auto or v4, not "${flags.execProtocol}"`);
  const concurrency = flags.concurrency === undefined ? undefined : Number(flags.concurrency);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 64))
    throw new TetherError(
      'bad-argument',
      `--concurrency must be a whole number from 1 to 64, not "${flags.concurrency}"`,
    );
  const keep = keepSecondsFrom(flags.helperIdle);
  return {
    ...(concurrency === undefined ? {} : { concurrency: String(concurrency) }),
    ...(keep === undefined ? {} : { helperIdleSeconds: String(keep) }),
    ...(flags.kubeconfig === undefined ? {} : { kubeconfig: flags.kubeconfig }),
    ...(flags.helperImage === undefined ? {} : { helperImage: flags.helperImage }),
    ...(flags.pod === undefined ? {} : { pod: flags.pod }),
    ...(flags.execProtocol === undefined || flags.execProtocol === 'auto' ? {} : { execProtocol: flags.execProtocol }),
  };
}

/** Seconds of heartbeat age kept back from a helper's idle timeout when taking it over: it checks every 2 s. */
export const FRESHNESS_MARGIN_SECONDS = 10;

/** A pair option in seconds: how long a helper waits unused for the next sync (0: deleted after each sync). */
export function keepSecondsFrom(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 0 || (seconds > 0 && seconds <= 2 * FRESHNESS_MARGIN_SECONDS))
    throw new TetherError(
      'bad-argument',
      `the helper idle time must be 0 (delete the helper after each sync) or a whole number of seconds above ${2 * FRESHNESS_MARGIN_SECONDS}, not ${JSON.stringify(value)}`,
    );
  return seconds;
}
