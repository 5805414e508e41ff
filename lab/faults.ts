import { isJsonObject } from './objects/json.js';
import type { JsonObject } from './objects/json.js';
import type { ExecFaults } from './runtime/contract.js';

/**
 * The lab's switchable faults: exec stream faults (cut after N bytes, latency, bandwidth, v4 only), pod
 * scheduling failure, and S3 failures (the next N requests answered 500 or 503, added latency). Set from a
 * fixture's lab section or through `POST /lab/v1/faults`; read by the servers on every request.
 */
export interface S3Faults {
  readonly failNext?: number;
  readonly failStatus?: 500 | 503;
  readonly latencyMs?: number;
}

export interface SchedulingFaults {
  readonly fail?: boolean;
}

export interface FaultSpec {
  readonly exec?: ExecFaults;
  readonly scheduling?: SchedulingFaults;
  readonly s3?: S3Faults;
}

export type ParsedFaults =
  { readonly ok: true; readonly value: FaultSpec } | { readonly ok: false; readonly error: string };

function nonNegative(value: unknown, field: string, errors: string[]): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    errors.push(`${field} must be a non-negative number`);
    return undefined;
  }
  return value;
}

/** Checks a fault document (JSON from the admin endpoint or the fixture): unknown keys are errors. */
export function parseFaults(input: unknown): ParsedFaults {
  if (!isJsonObject(input))
    return { ok: false, error: 'faults must be an object with "exec", "scheduling" and/or "s3"' };
  const errors: string[] = [];
  const known = (obj: JsonObject, keys: readonly string[], where: string): void => {
    for (const key of Object.keys(obj))
      if (!keys.includes(key)) errors.push(`${where}${key} is not a known fault (known: ${keys.join(', ')})`);
  };
  known(input, ['exec', 'scheduling', 's3'], '');
  const spec: { exec?: ExecFaults; scheduling?: SchedulingFaults; s3?: S3Faults } = {};
  const exec = input.exec;
  if (exec !== undefined && exec !== null) {
    if (!isJsonObject(exec)) errors.push('exec must be an object');
    else {
      known(exec, ['cutAfterBytes', 'latencyMs', 'bandwidthBytesPerSecond', 'v4Only'], 'exec.');
      const cutAfterBytes = nonNegative(exec.cutAfterBytes, 'exec.cutAfterBytes', errors);
      const latencyMs = nonNegative(exec.latencyMs, 'exec.latencyMs', errors);
      const bandwidth = nonNegative(exec.bandwidthBytesPerSecond, 'exec.bandwidthBytesPerSecond', errors);
      if (exec.v4Only !== undefined && typeof exec.v4Only !== 'boolean') errors.push('exec.v4Only must be a boolean');
      if (bandwidth === 0) errors.push('exec.bandwidthBytesPerSecond must be positive (omit it for no limit)');
      spec.exec = {
        ...(cutAfterBytes === undefined ? {} : { cutAfterBytes }),
        ...(latencyMs === undefined ? {} : { latencyMs }),
        ...(bandwidth === undefined || bandwidth === 0 ? {} : { bandwidthBytesPerSecond: bandwidth }),
        ...(exec.v4Only === true ? { v4Only: true } : {}),
      };
    }
  }
  const scheduling = input.scheduling;
  if (scheduling !== undefined && scheduling !== null) {
    if (!isJsonObject(scheduling)) errors.push('scheduling must be an object');
    else {
      known(scheduling, ['fail'], 'scheduling.');
      if (scheduling.fail !== undefined && typeof scheduling.fail !== 'boolean')
        errors.push('scheduling.fail must be a boolean');
      spec.scheduling = { fail: scheduling.fail === true };
    }
  }
  const s3 = input.s3;
  if (s3 !== undefined && s3 !== null) {
    if (!isJsonObject(s3)) errors.push('s3 must be an object');
    else {
      known(s3, ['failNext', 'failStatus', 'latencyMs'], 's3.');
      const failNext = nonNegative(s3.failNext, 's3.failNext', errors);
      const latencyMs = nonNegative(s3.latencyMs, 's3.latencyMs', errors);
      if (s3.failStatus !== undefined && s3.failStatus !== 500 && s3.failStatus !== 503)
        errors.push('s3.failStatus must be 500 or 503');
      spec.s3 = {
        ...(failNext === undefined ? {} : { failNext: Math.floor(failNext) }),
        ...(s3.failStatus === 500 || s3.failStatus === 503 ? { failStatus: s3.failStatus } : {}),
        ...(latencyMs === undefined ? {} : { latencyMs }),
      };
    }
  }
  return errors.length > 0 ? { ok: false, error: errors.join('; ') } : { ok: true, value: spec };
}

export class LabFaults {
  private exec: ExecFaults = {};
  private scheduling: SchedulingFaults = {};
  private s3: S3Faults = {};

  /** Replaces the given sections (absent sections stay as they are; `{}` clears one). */
  apply(spec: FaultSpec): void {
    if (spec.exec !== undefined) this.exec = spec.exec;
    if (spec.scheduling !== undefined) this.scheduling = spec.scheduling;
    if (spec.s3 !== undefined) this.s3 = spec.s3;
  }

  clear(): void {
    this.apply({ exec: {}, scheduling: {}, s3: {} });
  }

  snapshot(): FaultSpec {
    return { exec: { ...this.exec }, scheduling: { ...this.scheduling }, s3: { ...this.s3 } };
  }

  execFaults(): ExecFaults {
    return this.exec;
  }

  /** The taint scheduling fails on while the fault is on. */
  schedulingFault(): string | undefined {
    return this.scheduling.fail === true ? 'lab.tether.dev/fault: NoSchedule' : undefined;
  }

  /** Consumes one injected S3 failure, if any: the status to answer with. */
  takeS3Failure(): 500 | 503 | undefined {
    const remaining = this.s3.failNext ?? 0;
    if (remaining <= 0) return undefined;
    this.s3 = { ...this.s3, failNext: remaining - 1 };
    return this.s3.failStatus ?? 503;
  }

  s3LatencyMs(): number {
    return this.s3.latencyMs ?? 0;
  }
}
