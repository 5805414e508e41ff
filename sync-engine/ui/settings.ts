import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TetherError } from '../errors.js';
import type { Settings } from './contract.js';
import { SCHEMAS } from './schemas.js';

/** The app's settings, in `$TETHER_HOME/settings.json` (no secrets: see `SecretVault`). */
export const DEFAULT_SETTINGS: Settings = {
  concurrency: 4,
  bandwidthKiBps: 0,
  pollIntervalSeconds: 60,
  helperImage: 'busybox:1.36',
};

export function settingsFile(home: string): string {
  return join(home, 'settings.json');
}

export function loadSettings(home: string): Settings {
  let text: string;
  try {
    text = readFileSync(settingsFile(home), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return DEFAULT_SETTINGS;
    throw new TetherError('state-corrupt', `cannot read ${settingsFile(home)}: ${String(error)}`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new TetherError(
      'state-corrupt',
      `${settingsFile(home)} is not valid JSON; fix or delete it to start from the defaults`,
      { cause: error },
    );
  }
  const parsed = SCHEMAS.saveSettings.safeParse({ ...DEFAULT_SETTINGS, ...(raw as object) });
  if (!parsed.success) {
    throw new TetherError(
      'state-corrupt',
      `${settingsFile(home)} has invalid settings (${parsed.error.issues[0]?.message ?? 'unknown'}); fix or delete it`,
    );
  }
  return parsed.data as Settings;
}

/** Writes atomically (temporary file, then rename), readable by the user only. */
export function saveSettings(home: string, settings: Settings): Settings {
  const file = settingsFile(home);
  const temporary = `${file}.tmp-${process.pid}`;
  writeFileSync(temporary, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
  return settings;
}

/** Where S3 credentials the user pastes are kept: encrypted (Electron's safeStorage) or not at all. */
export interface SecretVault {
  readonly supported: boolean;
  load(): { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
  save(credentials: { readonly accessKeyId: string; readonly secretAccessKey: string }): void;
}

/** The browser host's vault: it has no OS keychain to encrypt with, so it stores nothing. */
export const NO_VAULT: SecretVault = {
  supported: false,
  load: () => undefined,
  save: () => {
    throw new TetherError(
      'bad-argument',
      'the browser host cannot keep secrets encrypted, so it stores none: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment of `tether ui`, or use the desktop app',
    );
  },
};
