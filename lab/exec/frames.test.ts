import { describe, expect, it } from 'vitest';

import {
  encodeFrame,
  encodeStatus,
  exitCodeStatus,
  httpErrorStatus,
  maxMessageBytes,
  parseClientMessage,
  splitPayload,
  statusForExit,
  type ClientMessage,
  type ExecProtocol,
} from './frames.js';

describe('frames', () => {
  it('puts the channel byte before the payload', () => {
    expect([...encodeFrame(1)]).toEqual([1]);
    expect([...encodeFrame(2, Buffer.from('hi'))]).toEqual([2, 0x68, 0x69]);
  });

  it('splits payloads so every message stays within 256 KiB', () => {
    const payload = Buffer.alloc(maxMessageBytes * 2 + 10, 7);
    const pieces = splitPayload(payload);
    expect(pieces).toHaveLength(3);
    expect(pieces.every((piece) => encodeFrame(1, piece).length <= maxMessageBytes)).toBe(true);
    expect(Buffer.concat(pieces).equals(payload)).toBe(true);
    expect(splitPayload(Buffer.from('small'))).toHaveLength(1);
  });

  const table: { description: string; message: number[]; protocol?: ExecProtocol; expected: ClientMessage['kind'] }[] =
    [
      { description: 'stdin data', message: [0, 0x61], expected: 'stdin' },
      { description: 'v5 CLOSE of stdin', message: [0xff, 0], expected: 'close' },
      { description: 'CLOSE under v4', message: [0xff, 0], protocol: 'v4.channel.k8s.io', expected: 'ignored' },
      { description: 'a short CLOSE', message: [0xff], expected: 'ignored' },
      { description: 'a long CLOSE', message: [0xff, 0, 0], expected: 'ignored' },
      { description: 'a resize', message: [4, ...Buffer.from('{"Width":80,"Height":24}')], expected: 'resize' },
      { description: 'an empty message', message: [], expected: 'ignored' },
      { description: 'stdout from the client', message: [1, 0x61], expected: 'ignored' },
      { description: 'status from the client', message: [3, 0x7b], expected: 'ignored' },
      { description: 'an unknown channel', message: [9, 1, 2], expected: 'ignored' },
    ];
  for (const { description, message, protocol, expected } of table) {
    it(`reads ${description} as ${expected}`, () => {
      expect(parseClientMessage(Buffer.from(message), protocol ?? 'v5.channel.k8s.io').kind).toBe(expected);
    });
  }

  it('gives stdin data without the channel byte and the CLOSE channel', () => {
    expect(parseClientMessage(Buffer.from([0, 1, 2]), 'v4.channel.k8s.io')).toEqual({
      kind: 'stdin',
      data: Buffer.from([1, 2]),
    });
    expect(parseClientMessage(Buffer.from([0xff, 2]), 'v5.channel.k8s.io')).toEqual({ kind: 'close', channel: 2 });
  });
});

describe('statuses', () => {
  it('writes success exactly as the kubelet does', () => {
    expect(encodeStatus(statusForExit(0)).toString('utf8')).toBe('\u0003{"metadata":{},"status":"Success"}');
  });

  it('writes a non-zero exit as NonZeroExitCode with the ExitCode cause', () => {
    expect(JSON.stringify(statusForExit(3))).toBe(
      '{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 3",' +
        '"reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}',
    );
    expect(exitCodeStatus(137).details?.causes[0]?.message).toBe('137');
  });

  it('writes HTTP errors as complete Status objects', () => {
    expect(httpErrorStatus(400, 'BadRequest', 'no')).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'no',
      reason: 'BadRequest',
      code: 400,
    });
  });
});
