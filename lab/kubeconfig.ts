import { stringify } from 'yaml';

/** A kubeconfig with one cluster (the lab, TLS with its CA inline) and one context and token per user. */
export interface KubeconfigUser {
  readonly name: string;
  readonly token: string;
  readonly namespace: string;
}

export const clusterName = 'tether-lab';

export function kubeconfigYaml(
  server: string,
  caCertPem: string,
  users: readonly KubeconfigUser[],
  currentContext: string,
): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [
      {
        name: clusterName,
        cluster: { server, 'certificate-authority-data': Buffer.from(caCertPem, 'utf8').toString('base64') },
      },
    ],
    users: users.map((user) => ({ name: user.name, user: { token: user.token } })),
    contexts: users.map((user) => ({
      name: user.name,
      context: { cluster: clusterName, user: user.name, namespace: user.namespace },
    })),
    'current-context': currentContext,
  });
}
