import { describe, expect, it } from 'vitest';
import { quotaCsv, quotaText } from './format.js';
import type { NamespaceAccess, QuotaReport, RawPvc } from './report.js';
import { parseQuantity, permissionLevel, pvcRow, quotaLines, usageLevel, warningsOf } from './report.js';

describe('parseQuantity', () => {
  it.each([
    ['50Gi', 50 * 2 ** 30],
    ['64Mi', 64 * 2 ** 20],
    ['10', 10],
    ['1.5T', 1.5e12],
    ['500m', 0.5],
    ['1e3', 1000],
    ['10304Mi', 10304 * 2 ** 20],
    ['', undefined],
    ['12 Gi', undefined],
    ['Gi', undefined],
    [undefined, undefined],
  ] as const)('%j → %j', (text, expected) => {
    expect(parseQuantity(text)).toBe(expected);
  });
});

describe('levels', () => {
  it.each([
    [0, 'ok'],
    [79.9, 'ok'],
    [80, 'warning'],
    [89.9, 'warning'],
    [90, 'critical'],
    [120, 'critical'],
  ] as const)('%d%% is %s', (percent, level) => {
    expect(usageLevel(percent)).toBe(level);
  });

  const none: NamespaceAccess = {
    listClaims: false,
    listQuotas: false,
    createPods: false,
    execPods: false,
    manageRoleBindings: false,
  };
  it.each([
    ['group admin (RoleBindings)', { ...none, listClaims: true, manageRoleBindings: true }, 'Admin'],
    ['member who may run and exec into pods', { ...none, listClaims: true, createPods: true, execPods: true }, 'Write'],
    ['pods but no exec is not enough to push', { ...none, listClaims: true, createPods: true }, 'Read'],
    ['read-only member', { ...none, listClaims: true, listQuotas: true }, 'Read'],
    ['nothing', none, 'None'],
  ] as const)('%s → %s', (_d, access, level) => {
    expect(permissionLevel(access)).toBe(level);
  });
});

const T = 1_800_000_000_000;
const claim = (over: Partial<RawPvc>): RawPvc => ({
  namespace: 'group-vision',
  name: 'data',
  phase: 'Bound',
  storageClass: 'shared-rwx',
  accessModes: ['ReadWriteMany'],
  requested: '10Gi',
  capacity: '10Gi',
  createdAt: T - 3_600_000,
  ...over,
});

describe('rows and warnings', () => {
  it('a Pending claim is flagged only after 5 minutes; a measured claim gets its percentage and level', () => {
    expect(
      pvcRow(claim({ phase: 'Pending', createdAt: T - 4 * 60_000 }), 'group', 'Read', undefined, T).pendingTooLong,
    ).toBe(false);
    expect(
      pvcRow(claim({ phase: 'Pending', createdAt: T - 6 * 60_000 }), 'group', 'Read', undefined, T).pendingTooLong,
    ).toBe(true);
    const row = pvcRow(
      claim({}),
      'group',
      'Write',
      { usedBytes: 85, totalBytes: 100, freeBytes: 15, measuredAt: T - 120_000 },
      T,
    );
    expect(row).toMatchObject({
      capacityBytes: 10 * 2 ** 30,
      lane: 'JuiceFS RWX (datasets, checkpoints)',
      ageSeconds: 3600,
    });
    expect(row.usage).toMatchObject({ percent: 85, level: 'warning' });
  });

  it('quota lines carry percentages; warnings list critical things first', () => {
    const lines = quotaLines({
      namespace: 'group-vision',
      name: 'storage',
      hard: { 'requests.storage': '200Gi', persistentvolumeclaims: '10', pods: '20' },
      used: { 'requests.storage': '180Gi', persistentvolumeclaims: '5' },
    });
    expect(lines.map((l) => [l.resource, l.used, l.percent, l.level])).toEqual([
      ['persistentvolumeclaims', '5', 50, 'ok'],
      ['pods', '0', 0, 'ok'],
      ['requests.storage', '180Gi', 90, 'critical'],
    ]);
    const pvcs = [
      pvcRow(
        claim({ name: 'warm' }),
        'group',
        'Write',
        { usedBytes: 81, totalBytes: 100, freeBytes: 19, measuredAt: T },
        T,
      ),
      pvcRow(claim({ name: 'stuck', phase: 'Pending', createdAt: T - 600_000 }), 'group', 'Write', undefined, T),
    ];
    const report: QuotaReport = {
      generatedAt: T,
      user: 'alice',
      scope: 'namespaces',
      namespaces: [
        {
          name: 'group-vision',
          kind: 'group',
          group: 'vision',
          permission: 'Write',
          quotas: lines,
          pvcs,
          phfs: { prefix: 'groups/vision/', bytes: 2048, objects: 3 },
        },
      ],
      warnings: [],
    };
    expect(warningsOf(report.namespaces)).toEqual([
      'group-vision/stuck has been Pending for 10 min: ask an admin to look at it',
      'group-vision quota storage: requests.storage at 90% (180Gi of 200Gi)',
      'group-vision/warm is 81% full',
    ]);
    const text = quotaText(report);
    expect(text).toContain('group-vision (group vision): your access Write');
    expect(text).toContain('quota storage: requests.storage 180Gi of 200Gi (90% (!!))');
    expect(text).toMatch(/stuck\s+Pending \(!! call an admin\)/);
    expect(text).toContain('phfs groups/vision/: 2.0 KiB in 3 objects');
    const csv = quotaCsv(report).split('\r\n');
    expect(csv).toHaveLength(1 + 3 + 2 + 1 + 1);
    expect(csv).toContain(
      'pvc,group-vision,group,vision,warm,storage,Bound,shared-rwx,ReadWriteMany,10737418240,,,81,81,warning,2027-01-15T08:00:00.000Z,3600,false,Write',
    );
    expect(csv).toContain('phfs,group-vision,group,vision,groups/vision/,objects,,,,,,3,2048,,,,,,Write');
  });

  it('CSV cells that a spreadsheet would run as formulas are defused, and commas quoted', () => {
    const report: QuotaReport = {
      generatedAt: T,
      user: 'x',
      scope: 'cluster',
      namespaces: [
        {
          name: 'ns',
          kind: 'other',
          permission: 'Read',
          quotas: [{ name: '=cmd()', resource: 'a,b', hard: '1', used: '0' }],
          pvcs: [],
        },
      ],
      warnings: [],
    };
    expect(quotaCsv(report).split('\r\n')[1]).toBe(`quota,ns,other,,'=cmd(),"a,b",,,,,1,0,,,,,,,Read`);
  });
});
