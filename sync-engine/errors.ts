/** Fatal errors as data: a code the UI and CLI can switch on, a message that says what could not be done. */
export type TetherErrorCode =
  | 'bad-url'
  | 'bad-argument'
  | 'not-found'
  | 'unknown-pair'
  | 'pair-exists'
  | 'pair-locked'
  | 'local-missing'
  | 'remote-unreachable'
  | 'listing-failed'
  | 'safety-halt'
  | 'permission-denied'
  | 'no-space'
  | 'read-only'
  | 'cancelled'
  | 'transfer-failed'
  | 'state-corrupt'
  | 'internal';

export class TetherError extends Error {
  readonly code: TetherErrorCode;
  readonly retryable: boolean;

  constructor(code: TetherErrorCode, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TetherError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** What survives a process or UI boundary: only the code and the message. */
export interface FlatError {
  readonly code: TetherErrorCode;
  readonly message: string;
}

export function flattenError(error: unknown): FlatError {
  if (error instanceof TetherError) return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: 'internal', message: error.message };
  return { code: 'internal', message: String(error) };
}
