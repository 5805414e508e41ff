import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState } from 'react';
import type { DragEvent } from 'react';
import type { BrowseEntry, RemoteRef, TransferProgress } from '../../sync-engine/ui/contract.js';
import { api } from './api.js';
import { Confirm, Empty, ErrorBox, Loading, ProgressBar } from './common.js';
import { formatBytes, formatTime } from './format.js';

/** Folder and file glyphs as inline SVG (no emoji font needed). */
function Icon({ kind }: { kind: 'dir' | 'file' }) {
  return (
    <svg className="icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
      {kind === 'dir' ? (
        <path d="M1.5 3.5h5l1.5 1.5h6.5v8.5h-13z" fill="#f2c14e" stroke="#c99a2e" />
      ) : (
        <path d="M3.5 1.5h6l3 3v10h-9z M9.5 1.5v3h3" fill="#fff" stroke="#7b8594" />
      )}
    </svg>
  );
}

function join(folder: string, name: string): string {
  return folder === '' ? name : `${folder}/${name}`;
}

function Listing(props: {
  entries: BrowseEntry[];
  selected: ReadonlySet<string>;
  toggle: (path: string) => void;
  open: (entry: BrowseEntry) => void;
  download: (entry: BrowseEntry) => void;
}) {
  const parent = useRef<HTMLDivElement>(null);
  const rows = useVirtualizer({
    count: props.entries.length,
    getScrollElement: () => parent.current,
    estimateSize: () => 36,
    overscan: 12,
  });
  return (
    <div className="listing" role="table" aria-label="folder contents" aria-rowcount={props.entries.length}>
      <div className="listing-head" role="row">
        <span role="columnheader">Name</span>
        <span role="columnheader">Size</span>
        <span role="columnheader">Modified</span>
        <span role="columnheader">Actions</span>
      </div>
      <div ref={parent} className="listing-body" data-testid="listing">
        <div className="listing-inner" ref={(el) => el?.style.setProperty('height', `${rows.getTotalSize()}px`)}>
          {rows.getVirtualItems().map((item) => {
            const entry = props.entries[item.index];
            if (entry === undefined) return null;
            return (
              <div
                key={entry.path}
                role="row"
                aria-rowindex={item.index + 1}
                className="listing-row"
                data-testid={`entry-${entry.name}`}
                ref={(el) => el?.style.setProperty('transform', `translateY(${item.start}px)`)}
              >
                <span role="cell" className="name">
                  <input
                    type="checkbox"
                    aria-label={`select ${entry.name}`}
                    checked={props.selected.has(entry.path)}
                    onChange={() => props.toggle(entry.path)}
                  />
                  {entry.kind === 'dir' ? (
                    <button type="button" className="link" onClick={() => props.open(entry)}>
                      <Icon kind="dir" /> {entry.name}
                    </button>
                  ) : (
                    <span>
                      <Icon kind="file" /> {entry.name}
                    </span>
                  )}
                </span>
                <span role="cell">{entry.kind === 'file' ? formatBytes(entry.size) : ''}</span>
                <span role="cell">{formatTime(entry.mtimeMs)}</span>
                <span role="cell">
                  {entry.kind === 'symlink' ? null : (
                    <button type="button" onClick={() => props.download(entry)} aria-label={`download ${entry.name}`}>
                      Download
                    </button>
                  )}
                </span>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}

export function StorageBrowserScreen() {
  const client = useQueryClient();
  const pairs = useQuery({ queryKey: ['pairs'], queryFn: () => api.call('listPairs', {}) });
  const [urlInput, setUrlInput] = useState('');
  const [remote, setRemote] = useState<RemoteRef | undefined>();
  const [folder, setFolder] = useState('');
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [newFolder, setNewFolder] = useState('');
  const [message, setMessage] = useState('');
  const [dragging, setDragging] = useState(false);
  const [transfer, setTransfer] = useState<{ label: string; done: number; total?: number } | undefined>();
  // The desktop app's transfers run in the main process and report through `transfer` events.
  useEffect(
    () =>
      api.on((event, data) => {
        if (event !== 'transfer') return;
        const t = data as TransferProgress;
        const verb = t.direction === 'upload' ? 'Uploading' : 'Downloading';
        setTransfer(
          t.done
            ? undefined
            : {
                label: `${verb} ${t.path}`,
                done: t.bytesDone,
                ...(t.bytesTotal === undefined ? {} : { total: t.bytesTotal }),
              },
        );
      }),
    [],
  );
  const fileInput = useRef<HTMLInputElement>(null);

  const listing = useQuery({
    queryKey: ['browse', remote?.remoteUrl, folder],
    enabled: remote !== undefined,
    queryFn: () => api.call('browse', { remote: remote ?? { remoteUrl: '' }, path: folder }),
  });
  const access = useQuery({
    queryKey: ['storageAccess', remote?.remoteUrl],
    enabled: remote !== undefined,
    queryFn: () => api.call('storageAccess', { remote: remote ?? { remoteUrl: '' } }),
  });
  // Writes are offered unless the user's rights say they cannot work (unknown rights: the store decides).
  const readOnly = access.data?.canWrite === false;
  const readOnlyWhy = 'read-only for you: ask a group admin for Write';
  const refresh = () => client.invalidateQueries({ queryKey: ['browse', remote?.remoteUrl] });
  const act = useMutation({
    mutationFn: async (work: () => Promise<string>) => setMessage(await work()),
    onSettled: () => {
      setTransfer(undefined);
      return refresh();
    },
  });

  const go = (path: string) => {
    setFolder(path);
    setSelected(new Set());
  };
  const open = (url: string) => {
    setRemote({ remoteUrl: url });
    go('');
  };
  const upload = (files: FileList | null) => {
    if (files === null || remote === undefined) return;
    const list = [...files];
    if (list.length === 0) return;
    act.mutate(async () => {
      if (api.transfers === undefined) {
        // Electron: the main process streams the dropped files from disk (the renderer never reads them).
        const localPaths = api.pathsOf?.(list).filter((p) => p !== '') ?? [];
        if (localPaths.length === 0) return 'nothing to upload: drop files from your disk';
        const { uploaded } = await api.call('uploadFromDisk', { remote, folder, localPaths });
        return `uploaded ${uploaded.length} file(s)`;
      }
      const transfers = api.transfers;
      for (const file of list) {
        setTransfer({ label: `Uploading ${file.name}`, done: 0, total: file.size });
        await transfers.upload(remote, join(folder, file.name), file, (sent, total) =>
          setTransfer({ label: `Uploading ${file.name}`, done: sent, total }),
        );
      }
      return `uploaded ${list.map((f) => f.name).join(', ')}`;
    });
  };
  const pickAndUpload = () => {
    if (remote === undefined) return;
    if (api.transfers !== undefined) {
      fileInput.current?.click();
      return;
    }
    act.mutate(async () => {
      const { uploaded } = await api.call('uploadFromDisk', { remote, folder });
      return uploaded.length === 0 ? 'nothing uploaded' : `uploaded ${uploaded.length} file(s)`;
    });
  };
  const download = (entry: BrowseEntry) => {
    if (remote === undefined) return;
    const name = entry.kind === 'dir' ? `${entry.name}.tar` : entry.name;
    if (api.transfers !== undefined) {
      // The browser streams it to disk with its own download bar (progress, cancel, where it went).
      const a = document.createElement('a');
      a.href = api.transfers.downloadUrl(remote, entry.path);
      a.download = name;
      a.click();
      setMessage(`downloading ${name}: see your browser's downloads`);
      return;
    }
    act.mutate(async () => {
      const { savedTo } = await api.call('downloadToDisk', { remote, path: entry.path });
      return savedTo === undefined ? 'download cancelled' : `saved ${name} to ${savedTo}`;
    });
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    if (readOnly) {
      setMessage(`Not uploaded: ${remote?.remoteUrl ?? 'this remote'} is ${readOnlyWhy}.`);
      return;
    }
    upload(e.dataTransfer.files);
  };
  const crumbs = folder === '' ? [] : folder.split('/');

  return (
    <section aria-labelledby="storage-title">
      <h2 id="storage-title">Storage</h2>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (urlInput.trim() !== '') open(urlInput.trim());
        }}
      >
        <label>
          A pair’s remote
          <select value="" onChange={(e) => e.target.value !== '' && open(e.target.value)}>
            <option value="">Choose…</option>
            {pairs.data?.map((p) => (
              <option key={p.name} value={p.remoteUrl}>
                {p.name}: {p.remoteUrl}
              </option>
            ))}
          </select>
        </label>
        <label>
          or a remote URL
          <input
            value={urlInput}
            onChange={(e) => setUrlInput(e.target.value)}
            placeholder="pvc://alice@group-vision/vision-datasets"
          />
        </label>
        <button type="submit">Open</button>
      </form>
      {remote === undefined ? (
        <Empty>Choose a PVC or PHFS remote to browse.</Empty>
      ) : (
        <div
          className={dragging ? 'dropzone dragging' : 'dropzone'}
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
        >
          <nav aria-label="breadcrumbs" className="crumbs">
            <button type="button" className="link" onClick={() => go('')}>
              {remote.remoteUrl}
            </button>
            {crumbs.map((c, i) => (
              <span key={crumbs.slice(0, i + 1).join('/')}>
                {' / '}
                <button type="button" className="link" onClick={() => go(crumbs.slice(0, i + 1).join('/'))}>
                  {c}
                </button>
              </span>
            ))}
          </nav>
          <p className="muted" data-testid="storage-access">
            Your level:{' '}
            {access.isPending ? (
              'checking…'
            ) : access.isError ? (
              `unknown (the check failed: ${access.error.message})`
            ) : access.data.level === undefined ? (
              <span title={access.data.note}>unknown ({access.data.note})</span>
            ) : (
              <span title={access.data.note}>
                <strong data-testid="storage-level">{access.data.level}</strong> (
                {access.data.canWrite === true ? 'read & write' : 'read only'}; {access.data.note})
              </span>
            )}
          </p>
          {readOnly ? (
            <p className="notice warn" role="status" data-testid="read-only-note">
              Upload, new folder and delete are off: {remote.remoteUrl} is {readOnlyWhy}.
            </p>
          ) : null}
          <div className="toolbar">
            <button type="button" disabled={folder === ''} onClick={() => go(crumbs.slice(0, -1).join('/'))}>
              Up
            </button>
            <button
              type="button"
              disabled={readOnly}
              title={readOnly ? readOnlyWhy : undefined}
              onClick={pickAndUpload}
            >
              Upload…
            </button>
            <input
              ref={fileInput}
              type="file"
              multiple
              hidden
              aria-label="files to upload"
              data-testid="upload-input"
              onChange={(e) => {
                upload(e.target.files);
                e.target.value = '';
              }}
            />
            <form
              className="row"
              onSubmit={(e) => {
                e.preventDefault();
                const name = newFolder.trim();
                if (name === '') return;
                act.mutate(async () => {
                  await api.call('makeFolder', { remote, path: join(folder, name) });
                  setNewFolder('');
                  return `created folder ${name}`;
                });
              }}
            >
              <input
                aria-label="new folder name"
                disabled={readOnly}
                value={newFolder}
                onChange={(e) => setNewFolder(e.target.value)}
                placeholder="new folder"
              />
              <button type="submit" disabled={readOnly} title={readOnly ? readOnlyWhy : undefined}>
                New folder
              </button>
            </form>
            <button
              type="button"
              className="danger"
              disabled={selected.size === 0 || readOnly}
              title={readOnly ? readOnlyWhy : undefined}
              onClick={() => setConfirmDelete(true)}
            >
              Delete ({selected.size})
            </button>
            <button type="button" onClick={() => void refresh()}>
              Refresh
            </button>
          </div>
          {transfer !== undefined ? (
            <div className="progress" data-testid="transfer-progress">
              <span>
                {transfer.label}: {formatBytes(transfer.done)}
                {transfer.total === undefined ? '' : ` of ${formatBytes(transfer.total)}`}
              </span>
              <ProgressBar value={transfer.done} max={transfer.total ?? 0} label={transfer.label} />
            </div>
          ) : act.isPending ? (
            <Loading what="…" />
          ) : null}
          {act.isError ? <ErrorBox error={act.error} /> : null}
          {message !== '' && !act.isPending && !act.isError ? (
            <p role="status" data-testid="storage-status">
              {message}
            </p>
          ) : null}
          {listing.isPending ? (
            <Loading what={`${remote.remoteUrl}/${folder}`} />
          ) : listing.isError ? (
            <ErrorBox error={listing.error} retry={() => void listing.refetch()} />
          ) : listing.data.length === 0 ? (
            <Empty>This folder is empty.{readOnly ? '' : ' Drop files here to upload them.'}</Empty>
          ) : (
            <>
              <p className="muted" data-testid="entry-count">
                {listing.data.length} entries
              </p>
              <Listing
                entries={listing.data}
                selected={selected}
                toggle={(path) => {
                  const next = new Set(selected);
                  if (!next.delete(path)) next.add(path);
                  setSelected(next);
                }}
                open={(entry) => go(entry.path)}
                download={download}
              />
            </>
          )}
        </div>
      )}
      {confirmDelete && remote !== undefined ? (
        <Confirm
          title={`Delete ${selected.size} item(s)?`}
          confirmLabel="Delete"
          danger
          onCancel={() => setConfirmDelete(false)}
          onConfirm={() => {
            setConfirmDelete(false);
            const paths = [...selected];
            setSelected(new Set());
            act.mutate(async () => {
              const { removed } = await api.call('deleteEntries', { remote, paths });
              return `deleted ${removed} item(s)`;
            });
          }}
        >
          <p>These are deleted from {remote.remoteUrl}, folders with everything in them:</p>
          <ul>
            {[...selected].slice(0, 20).map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </Confirm>
      ) : null}
    </section>
  );
}
