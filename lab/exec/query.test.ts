import { describe, expect, it } from 'vitest';

import { parseExecQuery } from './query.js';

const parse = (query: string): ReturnType<typeof parseExecQuery> => parseExecQuery(new URLSearchParams(query));

describe('parseExecQuery', () => {
  it('collects one command parameter per argv element, in order', () => {
    const parsed = parse('command=sh&command=-c&command=echo%20%22%241%22&command=sh&command=a%26b&stdout=true');
    expect(parsed).toEqual({
      ok: true,
      container: undefined,
      params: {
        command: ['sh', '-c', 'echo "$1"', 'sh', 'a&b'],
        stdin: false,
        stdout: true,
        stderr: false,
        tty: false,
      },
    });
  });

  it('reads booleans as Go does, and the container', () => {
    const parsed = parse('command=ls&stdin=1&stdout=T&stderr=True&tty=false&container=main');
    expect(parsed.ok && parsed.params).toMatchObject({ stdin: true, stdout: true, stderr: true, tty: false });
    expect(parsed.ok && parsed.container).toBe('main');
  });

  const errors: { query: string; message: RegExp }[] = [
    { query: 'stdout=true', message: /at least 1 command/ },
    { query: 'command=ls', message: /at least one of stdin, stdout, stderr/ },
    { query: 'command=ls&stdout=yes', message: /invalid value for stdout: "yes"/ },
    { query: 'command=ls&stdout=false&stderr=0', message: /at least one of/ },
    { query: 'command=a%00b&stdout=true', message: /NUL/ },
  ];
  for (const { query, message } of errors) {
    it(`refuses ?${query}`, () => {
      const parsed = parse(query);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.message).toMatch(message);
    });
  }
});
