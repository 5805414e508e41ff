import { createHash, timingSafeEqual } from 'node:crypto';
import type { UserInfo } from './rbac.js';

/** Bearer-token authentication: each lab user has one random token. Tokens are kept only as SHA-256 digests. */
export interface TokenUser {
  readonly name: string;
  readonly groups: readonly string[];
  readonly token: string;
}

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

export class TokenAuthenticator {
  private readonly users: { digest: Buffer; user: UserInfo }[];

  constructor(users: readonly TokenUser[]) {
    this.users = users.map((u) => ({
      digest: digest(u.token),
      user: { name: u.name, groups: [...new Set([...u.groups, 'system:authenticated'])] },
    }));
  }

  /** The user of an `Authorization` header, undefined when absent or not a known bearer token. */
  authenticate(header: string | undefined): UserInfo | undefined {
    if (header === undefined) return undefined;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match?.[1] === undefined) return undefined;
    const presented = digest(match[1]);
    // Compare against every user in constant time per comparison, so timing reveals nothing useful.
    let found: UserInfo | undefined;
    for (const candidate of this.users) if (timingSafeEqual(candidate.digest, presented)) found = candidate.user;
    return found;
  }
}

export const anonymousUser: UserInfo = { name: 'system:anonymous', groups: ['system:unauthenticated'] };
