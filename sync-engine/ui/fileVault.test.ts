import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileVault } from './fileVault.js';
import type { StringCipher } from './fileVault.js';

/** A real cipher (AES-256-GCM) standing in for the OS keychain, which needs Electron. */
function aesCipher(key = randomBytes(32), available = true): StringCipher {
  return {
    isEncryptionAvailable: () => available,
    encryptString(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]);
    },
    decryptString(encrypted) {
      const decipher = createDecipheriv('aes-256-gcm', key, encrypted.subarray(0, 12));
      decipher.setAuthTag(encrypted.subarray(12, 28));
      return Buffer.concat([decipher.update(encrypted.subarray(28)), decipher.final()]).toString('utf8');
    },
  };
}

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'tether-vault-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

describe('credential vault', () => {
  it('stores credentials encrypted, readable by the user only, and reads them back', () => {
    const vault = fileVault(home, aesCipher());
    expect(vault.load()).toBeUndefined();
    vault.save({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 's3cr3t-value' });
    const raw = readFileSync(join(home, 'credentials.bin'));
    expect(raw.toString('latin1')).not.toContain('s3cr3t-value');
    expect(raw.toString('latin1')).not.toContain('AKIAEXAMPLE');
    expect(statSync(join(home, 'credentials.bin')).mode & 0o777).toBe(0o600);
    expect(vault.load()).toEqual({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 's3cr3t-value' });
  });

  it('refuses to store anything without encryption', () => {
    const vault = fileVault(home, aesCipher(undefined, false));
    expect(vault.supported).toBe(false);
    expect(() => vault.save({ accessKeyId: 'a', secretAccessKey: 'b' })).toThrow(/no OS keychain/);
    expect(() => readFileSync(join(home, 'credentials.bin'))).toThrow(/ENOENT/);
  });

  it('says what to do when the stored file cannot be decrypted', () => {
    fileVault(home, aesCipher()).save({ accessKeyId: 'a', secretAccessKey: 'b' });
    expect(() => fileVault(home, aesCipher()).load()).toThrow(/cannot be decrypted.*enter them again/);
    writeFileSync(join(home, 'credentials.bin'), 'garbage');
    expect(() => fileVault(home, aesCipher()).load()).toThrow(/cannot be decrypted/);
  });
});
