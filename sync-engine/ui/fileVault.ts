import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TetherError } from '../errors.js';
import type { SecretVault } from './settings.js';

/** What encrypts the secrets: Electron's `safeStorage` (the OS keychain: Keychain, DPAPI, libsecret/kwallet). */
export interface StringCipher {
  isEncryptionAvailable(): boolean;
  encryptString(plain: string): Buffer;
  decryptString(encrypted: Buffer): string;
}

interface Stored {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * S3 credentials the user pastes into Settings, kept in `$TETHER_HOME/credentials.bin`, encrypted as a whole with
 * the OS keychain's key; never in SQLite, settings.json or logs. Without encryption (no keychain, e.g. a Linux
 * session without a secret service) nothing is stored and the user is told why.
 */
export function fileVault(home: string, cipher: StringCipher): SecretVault {
  const file = join(home, 'credentials.bin');
  return {
    get supported() {
      return cipher.isEncryptionAvailable();
    },
    load() {
      let encrypted: Buffer;
      try {
        encrypted = readFileSync(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new TetherError('state-corrupt', `cannot read ${file}: ${String(error)}`, { cause: error });
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(cipher.decryptString(encrypted));
      } catch (error) {
        throw new TetherError(
          'state-corrupt',
          `the stored credentials in ${file} cannot be decrypted (keychain changed?); enter them again in Settings`,
          { cause: error },
        );
      }
      const value = parsed as Partial<Stored>;
      if (typeof value.accessKeyId !== 'string' || typeof value.secretAccessKey !== 'string') {
        throw new TetherError('state-corrupt', `the stored credentials in ${file} are malformed; enter them again`);
      }
      return { accessKeyId: value.accessKeyId, secretAccessKey: value.secretAccessKey };
    },
    save(credentials) {
      if (!cipher.isEncryptionAvailable()) {
        throw new TetherError(
          'bad-argument',
          'no OS keychain is available to encrypt the credentials, so Tether does not store them; use AWS_PROFILE or environment variables',
        );
      }
      const encrypted = cipher.encryptString(
        JSON.stringify({ accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey }),
      );
      const temporary = `${file}.tmp-${process.pid}`;
      try {
        writeFileSync(temporary, encrypted, { mode: 0o600 });
        renameSync(temporary, file);
      } catch (error) {
        rmSync(temporary, { force: true });
        throw new TetherError('internal', `cannot write ${file}: ${String(error)}`, { cause: error });
      }
    },
  };
}
