/**
 * The platform's storage lanes, as StorageClasses: each names a provisioner, and the lab's provisioner for
 * it decides which access modes a volume of that lane can have (as the real CSI drivers do).
 */
export interface Lane {
  readonly storageClass: string;
  readonly provisioner: string;
  readonly description: string;
  readonly accessModes: readonly string[];
  readonly allowVolumeExpansion: boolean;
  readonly isDefault: boolean;
}

export const lanes: readonly Lane[] = [
  {
    storageClass: 'shared-rwx',
    provisioner: 'csi.juicefs.com',
    description: 'JuiceFS, shared read-write-many (the default lane)',
    accessModes: ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'],
    allowVolumeExpansion: true,
    isDefault: true,
  },
  {
    storageClass: 'legacy-rwx',
    provisioner: 'nfs.csi.k8s.io',
    description: 'legacy NFS, read-write-many',
    accessModes: ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'],
    allowVolumeExpansion: false,
    isDefault: false,
  },
  {
    storageClass: 'fast-rwo',
    provisioner: 'driver.longhorn.io',
    description: 'Longhorn block storage, read-write-once',
    accessModes: ['ReadWriteOnce', 'ReadWriteOncePod'],
    allowVolumeExpansion: true,
    isDefault: false,
  },
];

export function laneOfProvisioner(provisioner: string): Lane | undefined {
  return lanes.find((lane) => lane.provisioner === provisioner);
}
