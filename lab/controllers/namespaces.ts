import { K, kinds } from '../objects/kinds.js';
import type { KindInfo } from '../objects/kinds.js';
import { deletionTimestampOf, nameOf, timestamp } from '../objects/meta.js';
import type { KubeObject } from '../objects/meta.js';
import type { ObjectStore } from '../objects/store.js';
import type { Deleter } from '../server/deletion.js';

/**
 * Namespace deletion as the namespace controller does it: the namespace turns Terminating at once, then
 * everything in it is deleted (pods stop, claims release their data) and the namespace goes last.
 */
export function namespaceDeleter(
  store: ObjectStore,
  deleterFor: (kind: KindInfo) => Deleter,
  onError: (error: unknown) => void,
): { deleter: Deleter; idle: () => Promise<void>; stop: () => Promise<void> } {
  const running = new Set<Promise<void>>();
  let stopped = false;

  const empty = async (namespace: string): Promise<void> => {
    // Pods first, so that claims lose their users; then everything else; claims last (pvc-protection).
    const order = [
      K.pods,
      ...kinds.filter((k) => k.namespaced && k.stored && k !== K.pods && k !== K.claims),
      K.claims,
    ];
    let remaining = 1;
    // Objects with finalizers (claims still in use, or a user's own finalizer) hold the namespace in
    // Terminating, as on a real cluster; give up after a minute and leave it so.
    for (let round = 0; round < 600 && remaining > 0 && !stopped; round++) {
      remaining = 0;
      for (const kind of order) {
        for (const obj of store.list(kind, namespace)) {
          remaining++;
          if (deletionTimestampOf(obj) !== undefined && kind !== K.pods) continue;
          await deleterFor(kind)(kind, obj, {
            propagationPolicy: 'Background',
            gracePeriodSeconds: 0,
            dryRun: false,
          }).catch((error: unknown) => {
            // Already gone (a garbage-collected dependent): nothing to do.
            if (store.get(kind, namespace, nameOf(obj)) !== undefined) throw error;
          });
        }
      }
      if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (remaining === 0) store.remove(K.namespaces, '', namespace);
  };

  const deleter: Deleter = (_kind, obj) => {
    const name = nameOf(obj);
    // Deleting a namespace that is already terminating changes nothing.
    if (deletionTimestampOf(obj) !== undefined) return Promise.resolve(obj);
    const terminating = store.mutate(K.namespaces, '', name, (ns: KubeObject) => {
      if (deletionTimestampOf(ns) === undefined) ns.metadata.deletionTimestamp = timestamp();
      ns.status = {
        phase: 'Terminating',
        conditions: [
          {
            type: 'NamespaceDeletionContentFailure',
            status: 'False',
            reason: 'ContentDeleted',
            message: 'All content successfully deleted, may be waiting on finalization',
            lastTransitionTime: timestamp(),
          },
        ],
      };
    });
    if (terminating === undefined) return Promise.resolve(obj);
    const done = empty(name)
      .catch(onError)
      .finally(() => running.delete(done));
    running.add(done);
    return Promise.resolve(terminating);
  };

  return {
    deleter,
    idle: async () => {
      await Promise.all(running);
    },
    stop: async () => {
      stopped = true;
      await Promise.all(running);
    },
  };
}

/** The namespaces every cluster has. */
export const systemNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
