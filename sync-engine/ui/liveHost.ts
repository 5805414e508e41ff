import { LiveService } from '../live/liveService.js';
import type { LiveStatus } from '../live/status.js';
import type { StateStore } from '../state/store.js';
import type { Settings } from './contract.js';

/**
 * Live sync inside the app (`tether ui` and Electron main): one `LiveService` (the one `tether watch` runs) for
 * every pair marked live, with the bandwidth from Settings. Pauses go through the state store, so a `tether
 * pause` in a shell stops the app's watcher and a pause in the app stops a `tether watch` elsewhere.
 *
 * The live service has no "stop one pair": when the set of live pairs or the bandwidth changes, the service is
 * stopped (running transfers end; finished files stay done) and started again with the new set.
 */
export class AppLive {
  readonly #store: StateStore;
  readonly #onStatus: (name: string, status: LiveStatus) => void;
  #service: LiveService | undefined;
  #names: readonly string[] = [];
  #bandwidthKiBps = 0;
  /** Restarts are serialized: a second one waits for the first. */
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(store: StateStore, onStatus: (name: string, status: LiveStatus) => void) {
    this.#store = store;
    this.#onStatus = onStatus;
  }

  /** Brings the running service in line with the pairs marked live and the settings (no-op when nothing changed). */
  update(settings: Settings): Promise<void> {
    const next = this.#queue.then(() => this.#update(settings));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #update(settings: Settings): Promise<void> {
    if (this.#closed) return;
    const names = this.#store
      .listPairs()
      .filter((p) => p.live)
      .map((p) => p.name)
      .sort();
    const same =
      this.#service !== undefined &&
      settings.bandwidthKiBps === this.#bandwidthKiBps &&
      names.length === this.#names.length &&
      names.every((n, i) => n === this.#names[i]);
    if (same || (this.#service === undefined && names.length === 0)) return;
    await this.#service?.stop();
    this.#service = undefined;
    this.#names = names;
    this.#bandwidthKiBps = settings.bandwidthKiBps;
    if (names.length === 0) return;
    const limit = settings.bandwidthKiBps * 1024;
    const service = new LiveService({
      store: this.#store,
      sync: { purpose: 'live sync in the Tether app' },
      ...(limit > 0 ? { bandwidth: { uploadBytesPerSecond: limit, downloadBytesPerSecond: limit } } : {}),
      onStatus: (name, status) => this.#onStatus(name, status),
    });
    this.#service = service;
    await service.start(names);
  }

  /** The latest status of a pair this process watches. */
  status(name: string): LiveStatus | undefined {
    return this.#service?.statuses().get(name);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
    await this.#service?.stop();
    this.#service = undefined;
  }
}
