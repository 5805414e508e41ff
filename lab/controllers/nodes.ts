import { release } from 'node:os';
import { K } from '../objects/kinds.js';
import type { KubeObject } from '../objects/meta.js';
import { timestamp } from '../objects/meta.js';
import type { ObjectStore } from '../objects/store.js';

/** The lab's fake nodes: Ready, schedulable, each with its own hostname label and internal IP. */
export const defaultNodeNames = ['node-a', 'node-b', 'node-c'];

export function nodeObject(name: string, index: number): KubeObject {
  const now = timestamp();
  const condition = (type: string, status: string, reason: string, message: string): KubeObject['metadata'] => ({
    type,
    status,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
    reason,
    message,
  });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/arch': 'amd64',
        'topology.kubernetes.io/zone': `lab-${(index % 2) + 1}`,
      },
    },
    spec: { podCIDR: `10.244.${index + 1}.0/24`, podCIDRs: [`10.244.${index + 1}.0/24`] },
    status: {
      capacity: { cpu: '8', memory: '32Gi', pods: '110', 'ephemeral-storage': '100Gi' },
      allocatable: { cpu: '8', memory: '32Gi', pods: '110', 'ephemeral-storage': '100Gi' },
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: `10.0.0.${index + 1}` },
        { type: 'Hostname', address: name },
      ],
      nodeInfo: {
        kubeletVersion: 'v1.32.0',
        kubeProxyVersion: 'v1.32.0',
        osImage: 'Debian GNU/Linux (tether lab, bubblewrap sandboxes)',
        kernelVersion: release(),
        containerRuntimeVersion: 'bubblewrap://0.8',
        operatingSystem: 'linux',
        architecture: 'amd64',
        machineID: '',
        systemUUID: '',
        bootID: '',
      },
    },
  };
}

export function createNodes(store: ObjectStore, names: readonly string[] = defaultNodeNames): void {
  names.forEach((name, index) => {
    if (store.get(K.nodes, '', name) !== undefined) return;
    const node = nodeObject(name, index);
    const status = node.status;
    store.create(K.nodes, node);
    store.mutate(K.nodes, '', name, (obj) => {
      if (status !== undefined) obj.status = status;
    });
  });
}
