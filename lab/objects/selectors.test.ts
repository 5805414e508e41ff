import { describe, expect, it } from 'vitest';
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  requirementsOfSelector,
} from './selectors.js';

const labels = { app: 'tether', tier: 'helper', 'kubernetes.io/hostname': 'node-a', gen: '3' };

describe('label selectors', () => {
  it.each([
    ['', true],
    ['app', true],
    ['!app', false],
    ['!missing', true],
    ['app=tether', true],
    ['app==tether', true],
    ['app!=tether', false],
    ['missing!=x', true],
    ['app=other', false],
    ['app in (tether, other)', true],
    ['app notin (tether)', false],
    ['tier in (web,helper),app=tether', true],
    ['tier in (web),app=tether', false],
    ['kubernetes.io/hostname=node-a', true],
    ['gen>2', true],
    ['gen<2', false],
    ['app=', false],
  ])('%j matches: %s', (selector, expected) => {
    const parsed = parseLabelSelector(selector);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(matchesLabels(parsed.value, labels)).toBe(expected);
  });

  it.each(['!!!', 'app in (a', 'a b', '=x', 'app=in valid', 'Bad_/x=1', 'app>x', ',', 'a in ((b))'])(
    'rejects %j with a parse error',
    (selector) => {
      const parsed = parseLabelSelector(selector);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.error).toMatch(/unable to parse requirement/);
    },
  );

  it('converts matchLabels and matchExpressions', () => {
    const requirements = requirementsOfSelector({
      matchLabels: { app: 'tether' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['helper'] },
        { key: 'missing', operator: 'DoesNotExist' },
      ],
    });
    expect(matchesLabels(requirements, labels)).toBe(true);
    expect(matchesLabels(requirements, { app: 'tether' })).toBe(false);
    expect(
      matchesLabels(requirementsOfSelector({ matchExpressions: [{ key: 'app', operator: 'Bogus' }] }), labels),
    ).toBe(false);
  });
});

describe('field selectors', () => {
  const fields = new Map([
    ['metadata.name', 'a,b'],
    ['metadata.namespace', 'ml'],
    ['status.phase', 'Running'],
  ]);

  it.each([
    ['metadata.namespace=ml', true],
    ['metadata.namespace==ml', true],
    ['metadata.namespace!=ml', false],
    ['status.phase=Running,metadata.namespace=ml', true],
    ['status.phase=Pending', false],
    ['metadata.name=a\\,b', true],
  ])('%j matches: %s', (selector, expected) => {
    const parsed = parseFieldSelector(selector);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(matchesFields(parsed.value, fields)).toBe(expected);
  });

  it('rejects a requirement without an operator', () => {
    expect(parseFieldSelector('status.phase').ok).toBe(false);
  });
});
