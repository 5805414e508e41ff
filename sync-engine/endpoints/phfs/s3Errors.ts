import { TetherError } from '../../errors.js';

/** What an SDK error says, read without trusting its shape (SDK errors, Node socket errors, aborts). */
export interface S3Failure {
  readonly name: string;
  readonly status?: number;
  readonly errno?: string;
  readonly message: string;
}

export function s3FailureOf(error: unknown): S3Failure {
  if (typeof error !== 'object' || error === null) return { name: 'Error', message: String(error) };
  const record = error as {
    name?: unknown;
    Code?: unknown;
    code?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    cause?: unknown;
  };
  const status = record.$metadata?.httpStatusCode;
  const code = typeof record.code === 'string' ? record.code : undefined;
  const causeCode =
    typeof record.cause === 'object' &&
    record.cause !== null &&
    typeof (record.cause as { code?: unknown }).code === 'string'
      ? (record.cause as { code: string }).code
      : undefined;
  const name = typeof record.Code === 'string' ? record.Code : typeof record.name === 'string' ? record.name : 'Error';
  const errno = code ?? causeCode;
  return {
    name,
    ...(typeof status === 'number' ? { status } : {}),
    ...(errno === undefined ? {} : { errno }),
    message: typeof record.message === 'string' ? record.message : name,
  };
}

export function isNotFound(error: unknown): boolean {
  const failure = s3FailureOf(error);
  return failure.status === 404 || failure.name === 'NotFound' || failure.name === 'NoSuchKey';
}

export function isPreconditionFailed(error: unknown): boolean {
  const failure = s3FailureOf(error);
  return failure.status === 412 || failure.name === 'PreconditionFailed';
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

/**
 * A fatal error for an S3 failure, saying what could not be done and what to do: `what` is e.g.
 * "list phfs://vision/data". Per-file failures use `problemMessage` instead.
 */
export function s3Error(what: string, error: unknown, context: { bucket: string; endpoint?: string }): TetherError {
  if (error instanceof TetherError) return error;
  const failure = s3FailureOf(error);
  const where = context.endpoint ?? 'AWS S3';
  if (failure.name === 'AbortError' || failure.errno === 'ABORT_ERR') {
    return new TetherError('cancelled', `cancelled while trying to ${what}`, { cause: error });
  }
  if (failure.name === 'RequestTimeTooSkewed' || /skew/i.test(failure.message)) {
    const skew = clockSkewOf(error);
    const by = skew === undefined ? 'more than 15 minutes' : `about ${formatSkew(skew)} (the server allows 15 minutes)`;
    return new TetherError(
      'remote-unreachable',
      `cannot ${what}: the server says this computer's clock is off by ${by}; set the clock (enable NTP) and retry`,
      { cause: error },
    );
  }
  if (failure.name === 'NoSuchBucket') {
    return new TetherError(
      'not-found',
      `cannot ${what}: the bucket "${context.bucket}" does not exist at ${where}; check the bucket name and --s3-endpoint`,
      { cause: error },
    );
  }
  if (
    failure.status === 403 ||
    failure.name === 'AccessDenied' ||
    failure.name === 'InvalidAccessKeyId' ||
    failure.name === 'SignatureDoesNotMatch'
  ) {
    const hint =
      failure.name === 'InvalidAccessKeyId' || failure.name === 'SignatureDoesNotMatch'
        ? 'the credentials were not accepted; check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the profile'
        : 'your credentials have no access to this group or prefix; ask its owner for access or use a remote you can write';
    return new TetherError('permission-denied', `cannot ${what}: access denied (${failure.name}); ${hint}`, {
      cause: error,
    });
  }
  if (failure.errno !== undefined && UNREACHABLE.has(failure.errno)) {
    return new TetherError(
      'remote-unreachable',
      `cannot ${what}: ${where} is unreachable (${failure.errno}); check --s3-endpoint / AWS_ENDPOINT_URL and the network`,
      { cause: error, retryable: true },
    );
  }
  if (failure.status !== undefined && failure.status >= 500) {
    return new TetherError(
      'remote-unreachable',
      `cannot ${what}: ${where} kept failing (HTTP ${failure.status} ${failure.name}) after retries; try again later`,
      { cause: error, retryable: true },
    );
  }
  if (
    failure.status === undefined &&
    /deserializ|Expected closing tag|char '.*' is not expected|Unexpected token/i.test(failure.message)
  ) {
    return new TetherError(
      'remote-unreachable',
      `cannot ${what}: ${where} did not answer like an S3 server (${failure.message}); check --s3-endpoint`,
      { cause: error },
    );
  }
  return new TetherError(
    'transfer-failed',
    `cannot ${what}: ${failure.name}${failure.status === undefined ? '' : ` (HTTP ${failure.status})`}: ${failure.message}`,
    { cause: error, retryable: failure.status === undefined },
  );
}

/** A one-line reason for a per-file problem. */
export function problemMessage(what: string, error: unknown): string {
  const failure = s3FailureOf(error);
  if (error instanceof TetherError) return `${what}: ${error.message}`;
  return `${what}: ${failure.name}${failure.status === undefined ? '' : ` (HTTP ${failure.status})`}: ${failure.message}`;
}

/**
 * How far this computer's clock is from the server's (ms, positive: the server is ahead), from the `Date`
 * header of the server's answer, when it sent one. The SDK already corrects such skew itself (it re-signs with
 * the server's time and retries); this is for the message when even that did not help.
 */
export function clockSkewOf(error: unknown, now: number = Date.now()): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const headers = (error as { $response?: { headers?: Record<string, unknown> } }).$response?.headers;
  const date = headers?.date ?? headers?.Date;
  if (typeof date !== 'string') return undefined;
  const serverTime = Date.parse(date);
  return Number.isNaN(serverTime) ? undefined : serverTime - now;
}

export function formatSkew(ms: number): string {
  const minutes = Math.round(Math.abs(ms) / 60_000);
  const amount = minutes >= 120 ? `${Math.round(minutes / 60)} hours` : `${minutes} minutes`;
  return `${amount} (${ms > 0 ? 'behind' : 'ahead of'} the server)`;
}
