import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { CompareMode, PvcView, SyncMode, SyncResult } from '../../sync-engine/ui/contract.js';
import { api, errorText } from './api.js';
import { Empty, ErrorBox, Loading } from './common.js';
import { formatBytes } from './format.js';

const MODES: { value: SyncMode; label: string; help: string }[] = [
  { value: 'two-way', label: 'Two-way', help: 'changes on either side move to the other' },
  { value: 'push', label: 'Push', help: 'local → remote; never deletes or overwrites what changed only remotely' },
  { value: 'pull', label: 'Pull', help: 'remote → local; never deletes or overwrites what changed only locally' },
  { value: 'mirror-push', label: 'Mirror push', help: 'make the remote identical to the local folder (deletes)' },
  { value: 'mirror-pull', label: 'Mirror pull', help: 'make the local folder identical to the remote (deletes)' },
];

const COMPARES: { value: CompareMode; label: string; help: string }[] = [
  {
    value: 'size-mtime',
    label: 'Size + modification time (default)',
    help: 'fast: files with the same size and time are equal (times compared at the coarser side’s precision)',
  },
  {
    value: 'sha256',
    label: 'SHA-256 (strict)',
    help: 'content identity: hashes computed where the data lives and cached, so unchanged files are not re-hashed',
  },
  {
    value: 'none',
    label: 'None',
    help: 'a file present on both sides counts as equal: only new and deleted files move',
  },
];

type Kind = 'pvc' | 'phfs';

function PvcPicker(props: {
  kubeconfig: string;
  setKubeconfig: (v: string) => void;
  context: string;
  setContext: (v: string) => void;
  namespace: string;
  setNamespace: (v: string) => void;
  pvc: string;
  setPvc: (v: string) => void;
  setClaim: (v: PvcView | undefined) => void;
}) {
  const kubeconfig = props.kubeconfig === '' ? undefined : props.kubeconfig;
  const contexts = useQuery({
    queryKey: ['kubeContexts', kubeconfig],
    queryFn: () => api.call('kubeContexts', kubeconfig === undefined ? {} : { kubeconfig }),
  });
  const namespaces = useQuery({
    queryKey: ['namespaces', kubeconfig, props.context],
    enabled: props.context !== '',
    queryFn: () =>
      api.call('listNamespaces', { context: props.context, ...(kubeconfig === undefined ? {} : { kubeconfig }) }),
  });
  const pvcs = useQuery({
    queryKey: ['pvcs', kubeconfig, props.context, props.namespace],
    enabled: props.context !== '' && props.namespace !== '',
    queryFn: () =>
      api.call('listPvcs', {
        context: props.context,
        namespace: props.namespace,
        ...(kubeconfig === undefined ? {} : { kubeconfig }),
      }),
  });
  return (
    <fieldset>
      <legend>PersistentVolumeClaim</legend>
      <label>
        Kubeconfig file
        <input
          value={props.kubeconfig}
          placeholder={contexts.data?.kubeconfig ?? '~/.kube/config'}
          onChange={(e) => props.setKubeconfig(e.target.value)}
        />
      </label>
      {contexts.isPending ? <Loading what="kube contexts" /> : null}
      {contexts.isError ? <ErrorBox error={contexts.error} retry={() => void contexts.refetch()} /> : null}
      <label>
        Context
        <select
          value={props.context}
          onChange={(e) => {
            props.setContext(e.target.value);
            props.setNamespace(contexts.data?.contexts.find((c) => c.name === e.target.value)?.namespace ?? '');
            props.setPvc('');
          }}
        >
          <option value="">Choose a context…</option>
          {contexts.data?.contexts.map((c) => (
            <option key={c.name} value={c.name}>
              {c.name}
              {c.namespace === undefined ? '' : ` (${c.namespace})`}
            </option>
          ))}
        </select>
      </label>
      <label>
        Namespace
        <select
          value={props.namespace}
          disabled={props.context === ''}
          onChange={(e) => {
            props.setNamespace(e.target.value);
            props.setPvc('');
          }}
        >
          <option value="">Choose a namespace…</option>
          {(namespaces.data ?? (props.namespace === '' ? [] : [props.namespace])).map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      {namespaces.isError ? <ErrorBox error={namespaces.error} /> : null}
      {props.namespace === '' ? null : pvcs.isPending ? (
        <Loading what="claims" />
      ) : pvcs.isError ? (
        <ErrorBox error={pvcs.error} retry={() => void pvcs.refetch()} />
      ) : pvcs.data.length === 0 ? (
        <Empty>No claims in {props.namespace}.</Empty>
      ) : (
        <PvcTable
          pvcs={pvcs.data}
          selected={props.pvc}
          onSelect={(name) => {
            props.setPvc(name);
            props.setClaim(pvcs.data.find((p) => p.name === name));
          }}
        />
      )}
    </fieldset>
  );
}

function PvcTable({ pvcs, selected, onSelect }: { pvcs: PvcView[]; selected: string; onSelect: (n: string) => void }) {
  return (
    <table className="pvcs" aria-label="claims">
      <thead>
        <tr>
          <th scope="col">Claim</th>
          <th scope="col">Status</th>
          <th scope="col">Capacity</th>
          <th scope="col">Lane</th>
          <th scope="col">Access</th>
          <th scope="col">You can</th>
        </tr>
      </thead>
      <tbody>
        {pvcs.map((p) => (
          <tr key={p.name} className={selected === p.name ? 'selected' : undefined} data-testid={`pvc-${p.name}`}>
            <td>
              <label className="inline">
                <input
                  type="radio"
                  name="pvc"
                  value={p.name}
                  checked={selected === p.name}
                  disabled={p.phase !== 'Bound'}
                  onChange={() => onSelect(p.name)}
                />
                {p.name}
              </label>
            </td>
            <td>
              <span className={`badge phase-${p.phase}`}>{p.phase}</span>
            </td>
            <td>{p.capacity ?? '—'}</td>
            <td>
              <strong>{p.laneLabel}</strong>
              <br />
              <span className="muted">
                {p.storageClass ?? 'no class'} · best for {p.bestFor}
              </span>
            </td>
            <td>{p.accessModes.join(', ')}</td>
            <td data-testid="pvc-permission">
              {p.permission} ({p.canWrite ? 'read & write' : 'read only'})
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function NewPairWizard({
  onDone,
  onCancel,
}: {
  onDone: (name: string, sync: boolean) => void;
  onCancel: () => void;
}) {
  const [step, setStep] = useState<1 | 2 | 3>(1);
  const [kind, setKind] = useState<Kind>('pvc');
  const [kubeconfig, setKubeconfig] = useState('');
  const [context, setContext] = useState('');
  const [namespace, setNamespace] = useState('');
  const [pvc, setPvc] = useState('');
  const [subpath, setSubpath] = useState('');
  const [group, setGroup] = useState('');
  const [phfsPath, setPhfsPath] = useState('');
  const [name, setName] = useState('');
  const [localPath, setLocalPath] = useState('');
  const [mode, setMode] = useState<SyncMode>('two-way');
  const [claim, setClaim] = useState<PvcView | undefined>();
  // Read only for this user (RBAC): only pull modes are offered, before anything is created.
  const readOnly = kind === 'pvc' && claim !== undefined && !claim.canWrite;
  const modes = readOnly ? MODES.filter((m) => m.value === 'pull' || m.value === 'mirror-pull') : MODES;
  const chosenMode = modes.some((m) => m.value === mode) ? mode : 'pull';
  const [compare, setCompare] = useState<CompareMode>('size-mtime');
  const [ignore, setIgnore] = useState('');
  const [created, setCreated] = useState<string | undefined>();
  const [preview, setPreview] = useState<SyncResult | undefined>();
  const [error, setError] = useState<unknown>();
  const [working, setWorking] = useState(false);

  const clean = (p: string) => p.replace(/^\/+|\/+$/g, '');
  const remoteUrl =
    kind === 'pvc'
      ? `pvc://${context}@${namespace}/${pvc}${clean(subpath) === '' ? '' : `/${clean(subpath)}`}`
      : `phfs://${group}${clean(phfsPath) === '' ? '' : `/${clean(phfsPath)}`}`;
  const remoteReady = kind === 'pvc' ? context !== '' && namespace !== '' && pvc !== '' : /^[a-z0-9-]+$/.test(group);

  const discard = async () => {
    if (created !== undefined) await api.call('removePair', { name: created }).catch(() => undefined);
    setCreated(undefined);
    setPreview(undefined);
  };

  const createAndPreview = async () => {
    setWorking(true);
    setError(undefined);
    try {
      await discard();
      await api.call('addPair', {
        name,
        localPath,
        remoteUrl,
        mode: chosenMode,
        compare,
        ignore: ignore
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l !== ''),
        ...(kind === 'pvc' && kubeconfig !== '' ? { kubeconfig } : {}),
      });
      setCreated(name);
      setStep(3);
      setPreview(await api.call('syncNow', { name, dryRun: true }));
    } catch (e) {
      setError(e);
    } finally {
      setWorking(false);
    }
  };

  const chooseFolder = async () => {
    const picked = await api.call('pickFolder', { title: 'Choose the local folder' });
    if (picked.path !== undefined) setLocalPath(picked.path);
  };

  return (
    <section aria-labelledby="wizard-title" className="wizard">
      <h2 id="wizard-title">New pair</h2>
      <ol className="steps" aria-label="steps">
        <li aria-current={step === 1 ? 'step' : undefined}>Remote</li>
        <li aria-current={step === 2 ? 'step' : undefined}>Local folder and options</li>
        <li aria-current={step === 3 ? 'step' : undefined}>Preview</li>
      </ol>
      {step === 1 ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setStep(2);
          }}
        >
          <fieldset className="choice">
            <legend>Where is the remote?</legend>
            <label className="inline">
              <input type="radio" name="kind" checked={kind === 'pvc'} onChange={() => setKind('pvc')} />A PVC on the
              cluster
            </label>
            <label className="inline">
              <input type="radio" name="kind" checked={kind === 'phfs'} onChange={() => setKind('phfs')} />
              PHFS object storage
            </label>
          </fieldset>
          {kind === 'pvc' ? (
            <>
              <PvcPicker
                {...{ kubeconfig, setKubeconfig, context, setContext, namespace, setNamespace, pvc, setPvc, setClaim }}
              />
              <label>
                Folder inside the claim (optional)
                <input value={subpath} onChange={(e) => setSubpath(e.target.value)} placeholder="datasets/cifar" />
              </label>
            </>
          ) : (
            <fieldset>
              <legend>PHFS</legend>
              <label>
                Group
                <input value={group} onChange={(e) => setGroup(e.target.value)} placeholder="vision" required />
              </label>
              <label>
                Path in the group (optional)
                <input value={phfsPath} onChange={(e) => setPhfsPath(e.target.value)} placeholder="datasets" />
              </label>
            </fieldset>
          )}
          <p className="muted" data-testid="remote-url">
            Remote: {remoteReady ? remoteUrl : '—'}
          </p>
          <div className="actions">
            <button type="button" onClick={onCancel}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={!remoteReady}>
              Next
            </button>
          </div>
        </form>
      ) : null}
      {step === 2 ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void createAndPreview();
          }}
        >
          <label>
            Pair name
            <input value={name} onChange={(e) => setName(e.target.value)} required pattern="[A-Za-z0-9._\-]{1,64}" />
          </label>
          <label>
            Local folder
            <span className="row">
              <input
                value={localPath}
                onChange={(e) => setLocalPath(e.target.value)}
                required
                placeholder="/home/you/data"
              />
              {api.native ? (
                <button type="button" onClick={() => void chooseFolder()}>
                  Choose…
                </button>
              ) : null}
            </span>
          </label>
          <label>
            Mode
            <select
              value={chosenMode}
              onChange={(e) => setMode(e.target.value as SyncMode)}
              aria-describedby="mode-help"
            >
              {modes.map((m) => (
                <option key={m.value} value={m.value}>
                  {m.label}
                </option>
              ))}
            </select>
          </label>
          <p id="mode-help" className="muted">
            {MODES.find((m) => m.value === chosenMode)?.help}
          </p>
          {readOnly ? (
            <p className="notice warn" role="status" data-testid="read-only-note">
              {claim.name} is read-only for you ({claim.permission} in {claim.namespace}): only pull modes are offered.
              Ask a group admin for Write to push.
            </p>
          ) : null}
          <fieldset className="choice">
            <legend>How files are compared</legend>
            {COMPARES.map((c) => (
              <label key={c.value} className="option">
                <input type="radio" name="compare" checked={compare === c.value} onChange={() => setCompare(c.value)} />
                <span>
                  <strong>{c.label}</strong>
                  <br />
                  <span className="muted">{c.help}</span>
                </span>
              </label>
            ))}
          </fieldset>
          <label>
            Ignore rules (gitignore syntax, one per line)
            <textarea
              value={ignore}
              onChange={(e) => setIgnore(e.target.value)}
              rows={3}
              placeholder={'*.tmp\n__pycache__/'}
            />
          </label>
          {error === undefined ? null : <ErrorBox error={error} />}
          <div className="actions">
            <button type="button" onClick={() => setStep(1)}>
              Back
            </button>
            <button type="submit" className="primary" disabled={working}>
              {working ? 'Working…' : 'Preview first sync'}
            </button>
          </div>
        </form>
      ) : null}
      {step === 3 ? (
        <div>
          <p>
            <strong>{name}</strong>: {localPath} ⇄ {remoteUrl} ({chosenMode}, compare {compare})
          </p>
          {working ? <Loading what="the plan (dry run: nothing moves)" /> : null}
          {error === undefined ? null : <ErrorBox error={error} retry={() => void createAndPreview()} />}
          {preview === undefined ? null : (
            <div data-testid="preview">
              <p role="status">
                The first sync would upload {preview.uploaded} and download {preview.downloaded} file(s) (
                {formatBytes(preview.bytes)}), delete {preview.deletedLocal + preview.deletedRemote}, with{' '}
                {preview.conflicts} conflict(s).
              </p>
              {(preview.actions ?? []).length === 0 ? (
                <Empty>Nothing to do: both sides already agree.</Empty>
              ) : (
                <ul className="plan" aria-label="planned actions">
                  {(preview.actions ?? []).slice(0, 200).map((a) => (
                    <li key={`${a.side}:${a.kind}:${a.path}`}>
                      {a.side === 'remote' ? '↑' : '↓'} {a.kind} {a.path}
                      {a.bytes === undefined ? '' : ` (${formatBytes(a.bytes)})`}
                    </li>
                  ))}
                </ul>
              )}
              {preview.problems.length > 0 ? (
                <p className="warn">
                  {preview.problems.length} problem(s), e.g. {preview.problems[0]?.path}: {preview.problems[0]?.message}
                </p>
              ) : null}
            </div>
          )}
          <div className="actions">
            <button
              type="button"
              onClick={() =>
                void discard().then(
                  () => setStep(2),
                  (e: unknown) => setError(errorText(e)),
                )
              }
            >
              Back
            </button>
            <button type="button" onClick={() => void discard().then(onCancel)}>
              Cancel
            </button>
            <button type="button" disabled={created === undefined || working} onClick={() => onDone(name, false)}>
              Create without syncing
            </button>
            <button
              type="button"
              className="primary"
              disabled={preview === undefined}
              onClick={() => onDone(name, true)}
            >
              Create and sync
            </button>
          </div>
        </div>
      ) : null}
    </section>
  );
}
