import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { Settings } from '../../sync-engine/ui/contract.js';
import { api } from './api.js';
import { ErrorBox, Loading } from './common.js';

function SettingsForm({ initial }: { initial: Settings }) {
  const client = useQueryClient();
  const [form, setForm] = useState(initial);
  useEffect(() => setForm(initial), [initial]);
  const save = useMutation({
    mutationFn: (settings: Settings) => api.call('saveSettings', settings),
    onSuccess: (saved) => client.setQueryData(['settings'], saved),
  });
  const number = (key: 'concurrency' | 'bandwidthKiBps' | 'pollIntervalSeconds', label: string, min: number) => (
    <label>
      {label}
      <input
        type="number"
        min={min}
        value={form[key]}
        onChange={(e) => setForm({ ...form, [key]: Number(e.target.value) })}
        required
      />
    </label>
  );
  const optional = (key: 'kubeconfig' | 'phfsEndpoint' | 'phfsBucket', label: string, placeholder: string) => (
    <label>
      {label}
      <input
        value={form[key] ?? ''}
        placeholder={placeholder}
        onChange={(e) => {
          const { [key]: _dropped, ...rest } = form;
          setForm(e.target.value === '' ? rest : { ...rest, [key]: e.target.value });
        }}
      />
    </label>
  );
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate(form);
      }}
    >
      <fieldset>
        <legend>Transfers</legend>
        {number('concurrency', 'Parallel transfers', 1)}
        {number('bandwidthKiBps', 'Bandwidth limit (KiB/s, 0 = none)', 0)}
        {number('pollIntervalSeconds', 'Poll interval for live pairs (seconds)', 5)}
      </fieldset>
      <fieldset>
        <legend>Cluster</legend>
        {optional('kubeconfig', 'Kubeconfig file', '~/.kube/config')}
        <label>
          Helper pod image
          <input
            value={form.helperImage}
            onChange={(e) => setForm({ ...form, helperImage: e.target.value })}
            required
          />
        </label>
      </fieldset>
      <fieldset>
        <legend>PHFS</legend>
        {optional('phfsEndpoint', 'S3 endpoint', 'https://phfs.example.com')}
        {optional('phfsBucket', 'Bucket', 'phfs')}
      </fieldset>
      {save.isError ? <ErrorBox error={save.error} /> : null}
      {save.isSuccess ? <p role="status">Settings saved.</p> : null}
      <div className="actions">
        <button type="submit" className="primary" disabled={save.isPending}>
          Save settings
        </button>
      </div>
    </form>
  );
}

function Credentials() {
  const client = useQueryClient();
  const status = useQuery({ queryKey: ['credentials'], queryFn: () => api.call('credentialsStatus', {}) });
  const [keyId, setKeyId] = useState('');
  const [secret, setSecret] = useState('');
  const save = useMutation({
    mutationFn: () => api.call('saveCredentials', { s3AccessKeyId: keyId, s3SecretAccessKey: secret }),
    onSuccess: (saved) => {
      client.setQueryData(['credentials'], saved);
      setSecret('');
    },
  });
  if (status.isPending) return <Loading what="credentials" />;
  if (status.isError) return <ErrorBox error={status.error} />;
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <fieldset>
        <legend>PHFS credentials</legend>
        {status.data.supported ? (
          <p className="muted">
            Encrypted with your system keychain; never written in plain text.{' '}
            {status.data.hasSecret ? `Stored: key ${status.data.s3AccessKeyId ?? ''}.` : 'None stored.'}
          </p>
        ) : (
          <p className="muted">
            The browser host keeps no secrets: start <code>tether ui</code> with AWS_PROFILE or AWS_ACCESS_KEY_ID and
            AWS_SECRET_ACCESS_KEY set, or use the desktop app.
          </p>
        )}
        <label>
          Access key ID
          <input
            value={keyId}
            onChange={(e) => setKeyId(e.target.value)}
            disabled={!status.data.supported}
            autoComplete="off"
          />
        </label>
        <label>
          Secret access key
          <input
            type="password"
            value={secret}
            onChange={(e) => setSecret(e.target.value)}
            disabled={!status.data.supported}
            autoComplete="off"
          />
        </label>
      </fieldset>
      {save.isError ? <ErrorBox error={save.error} /> : null}
      <button type="submit" disabled={!status.data.supported || keyId === '' || secret === ''}>
        Save credentials
      </button>
    </form>
  );
}

export function SettingsScreen() {
  const settings = useQuery({ queryKey: ['settings'], queryFn: () => api.call('getSettings', {}) });
  return (
    <section aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      {settings.isPending ? (
        <Loading what="settings" />
      ) : settings.isError ? (
        <ErrorBox error={settings.error} retry={() => void settings.refetch()} />
      ) : (
        <SettingsForm initial={settings.data} />
      )}
      <Credentials />
    </section>
  );
}
