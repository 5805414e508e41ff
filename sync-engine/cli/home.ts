import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Where Tether keeps its state: `$TETHER_HOME`, else the per-user app-data folder Electron's `userData` uses
 * too, so the CLI and the desktop app share pairs: ~/.config/Tether (Linux, or $XDG_CONFIG_HOME/Tether),
 * ~/Library/Application Support/Tether (macOS), %APPDATA%\Tether (Windows).
 */
export function tetherHome(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const explicit = env['TETHER_HOME'];
  if (explicit !== undefined && explicit !== '') return resolve(explicit);
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Tether');
  if (platform === 'win32') return join(env['APPDATA'] ?? join(homedir(), 'AppData', 'Roaming'), 'Tether');
  const config = env['XDG_CONFIG_HOME'];
  return join(config !== undefined && config !== '' ? config : join(homedir(), '.config'), 'Tether');
}

export function ensureTetherHome(): string {
  const home = tetherHome();
  mkdirSync(home, { recursive: true, mode: 0o700 });
  return home;
}

export function databasePath(home: string): string {
  return join(home, 'state.db');
}
