import { jsonText, objectAt } from '../objects/json.js';
import type { JsonObject } from '../objects/json.js';
import { K } from '../objects/kinds.js';
import { nameOf, namespaceOf } from '../objects/meta.js';
import type { ObjectStore } from '../objects/store.js';
import { namespaceObjects } from './admission.js';
import { usedFor } from './quotaUsage.js';
import { SyncLoop } from './trigger.js';

/** Keeps every ResourceQuota's `status.hard` and `status.used` current, as the quota controller does. */
export class QuotaController {
  private readonly store: ObjectStore;
  private readonly loop: SyncLoop;
  private readonly dirty = new Set<string>();
  private readonly unsubscribe: () => void;

  constructor(store: ObjectStore, onError: (error: unknown) => void) {
    this.store = store;
    this.loop = new SyncLoop(() => Promise.resolve(this.sync()), onError);
    this.unsubscribe = store.subscribe((event) => {
      const relevant = [K.claims.plural, K.pods.plural, K.quotas.plural, K.jobs.plural, K.configMaps.plural];
      if (!relevant.includes(event.kind.plural)) return;
      // A quota's own status write must not trigger another pass.
      if (event.kind.plural === K.quotas.plural && event.type === 'MODIFIED') {
        const spec = objectAt(event.object, 'spec');
        const status = objectAt(event.object, 'status');
        if (JSON.stringify(spec?.hard) === JSON.stringify(status?.hard)) return;
      }
      this.dirty.add(namespaceOf(event.object));
      this.loop.trigger();
    });
    for (const quota of store.list(K.quotas)) this.dirty.add(namespaceOf(quota));
    this.loop.trigger();
  }

  private sync(): void {
    const namespaces = [...this.dirty];
    this.dirty.clear();
    for (const namespace of namespaces) {
      const quotas = this.store.list(K.quotas, namespace);
      if (quotas.length === 0) continue;
      const objects = namespaceObjects(this.store, namespace);
      for (const quota of quotas) {
        const hardObject = objectAt(objectAt(quota, 'spec'), 'hard') ?? {};
        const hard: Record<string, string> = {};
        for (const [key, value] of Object.entries(hardObject)) hard[key] = jsonText(value);
        const status: JsonObject = { hard, used: usedFor(hard, objects) };
        this.store.mutate(K.quotas, namespace, nameOf(quota), (obj) => {
          obj.status = status;
        });
      }
    }
  }

  async idle(): Promise<void> {
    await this.loop.idle();
  }

  async stop(): Promise<void> {
    this.unsubscribe();
    await this.loop.stop();
  }
}
