/** The exec request's query parameters, parsed the way the API server parses `PodExecOptions`. */
export interface ExecParams {
  readonly command: readonly string[];
  readonly stdin: boolean;
  readonly stdout: boolean;
  readonly stderr: boolean;
  readonly tty: boolean;
}

export type ParsedExecQuery =
  | { readonly ok: true; readonly params: ExecParams; readonly container: string | undefined }
  | { readonly ok: false; readonly message: string };

/** Go's strconv.ParseBool, which the API server uses for query booleans. */
function parseBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

/**
 * `?command=sh&command=-c&command=…&stdin=true&stdout=true&stderr=true&tty=false&container=c`. Errors read like
 * the API server's (answer them with a 400 BadRequest Status).
 */
export function parseExecQuery(query: URLSearchParams): ParsedExecQuery {
  const flags: Record<'stdin' | 'stdout' | 'stderr' | 'tty', boolean> = {
    stdin: false,
    stdout: false,
    stderr: false,
    tty: false,
  };
  for (const name of ['stdin', 'stdout', 'stderr', 'tty'] as const) {
    const values = query.getAll(name);
    const value = values[values.length - 1];
    if (value === undefined) continue;
    const parsed = parseBool(value);
    if (parsed === undefined) return { ok: false, message: `invalid value for ${name}: "${value}" is not a boolean` };
    flags[name] = parsed;
  }
  const command = query.getAll('command');
  if (command.length === 0) return { ok: false, message: 'you must specify at least 1 command' };
  if (command.some((arg) => arg.includes('\0')))
    return { ok: false, message: 'command arguments must not contain NUL' };
  if (!flags.stdin && !flags.stdout && !flags.stderr) {
    return { ok: false, message: 'you must specify at least one of stdin, stdout, stderr' };
  }
  const container = query.get('container') ?? undefined;
  return { ok: true, params: { command, ...flags }, container: container === '' ? undefined : container };
}
