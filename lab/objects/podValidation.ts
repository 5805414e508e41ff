import { fieldError } from './apiError.js';
import type { StatusCause } from './apiError.js';
import { isJsonObject } from './json.js';
import type { Json, JsonObject } from './json.js';
import { nameErrors } from './meta.js';

/** Pod specs as the lab accepts them: one container, PVC/emptyDir (or other, unmountable) volumes. */
export const restartPolicies = ['Always', 'OnFailure', 'Never'] as const;

function stringList(value: Json | undefined, field: string, errors: StatusCause[]): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    errors.push(fieldError.typeInvalid(field, value, 'must be a list of strings'));
  }
}

function nonNegativeInteger(value: Json | undefined, field: string, errors: StatusCause[], min = 0): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    errors.push(
      fieldError.invalid(
        field,
        value,
        min === 0 ? 'must be greater than or equal to 0' : `must be greater than or equal to ${min}`,
      ),
    );
  }
}

function containerErrors(container: Json, field: string, volumeNames: ReadonlySet<string>): StatusCause[] {
  if (!isJsonObject(container)) return [fieldError.typeInvalid(field, container, 'must be an object')];
  const errors: StatusCause[] = [];
  const { name, image, command, args, env, workingDir, volumeMounts } = container;
  if (typeof name !== 'string' || name === '') errors.push(fieldError.required(`${field}.name`));
  else errors.push(...nameErrors(name, 'label', `${field}.name`));
  if (typeof image !== 'string' || image.trim() === '') errors.push(fieldError.required(`${field}.image`));
  stringList(command, `${field}.command`, errors);
  stringList(args, `${field}.args`, errors);
  if (workingDir !== undefined && workingDir !== null && typeof workingDir !== 'string') {
    errors.push(fieldError.typeInvalid(`${field}.workingDir`, workingDir, 'must be a string'));
  }
  if (env !== undefined && env !== null) {
    if (!Array.isArray(env)) errors.push(fieldError.typeInvalid(`${field}.env`, env, 'must be a list'));
    else
      env.forEach((variable, i) => {
        if (!isJsonObject(variable) || typeof variable.name !== 'string' || variable.name === '') {
          errors.push(fieldError.required(`${field}.env[${i}].name`));
        } else if (variable.value !== undefined && variable.value !== null && typeof variable.value !== 'string') {
          errors.push(fieldError.typeInvalid(`${field}.env[${i}].value`, variable.value, 'must be a string'));
        }
      });
  }
  if (volumeMounts !== undefined && volumeMounts !== null) {
    if (!Array.isArray(volumeMounts)) {
      errors.push(fieldError.typeInvalid(`${field}.volumeMounts`, volumeMounts, 'must be a list'));
    } else {
      const mountPaths = new Set<string>();
      volumeMounts.forEach((mount, i) => {
        const mountField = `${field}.volumeMounts[${i}]`;
        if (!isJsonObject(mount)) {
          errors.push(fieldError.typeInvalid(mountField, mount, 'must be an object'));
          return;
        }
        if (typeof mount.name !== 'string' || mount.name === '') errors.push(fieldError.required(`${mountField}.name`));
        else if (!volumeNames.has(mount.name)) errors.push(fieldError.notFound(`${mountField}.name`, mount.name));
        if (typeof mount.mountPath !== 'string' || mount.mountPath === '') {
          errors.push(fieldError.required(`${mountField}.mountPath`));
        } else if (!mount.mountPath.startsWith('/') || mount.mountPath.split('/').includes('..')) {
          errors.push(
            fieldError.invalid(`${mountField}.mountPath`, mount.mountPath, 'must be an absolute path without ".."'),
          );
        } else if (mountPaths.has(mount.mountPath)) {
          errors.push(fieldError.invalid(`${mountField}.mountPath`, mount.mountPath, 'must be unique'));
        } else {
          mountPaths.add(mount.mountPath);
        }
        if (mount.subPath !== undefined && mount.subPath !== null) {
          const subPath = mount.subPath;
          if (typeof subPath !== 'string' || subPath.startsWith('/') || subPath.split('/').includes('..')) {
            errors.push(fieldError.invalid(`${mountField}.subPath`, subPath, "must be a relative path without '..'"));
          }
        }
      });
    }
  }
  return errors;
}

const volumeSources = [
  'persistentVolumeClaim',
  'emptyDir',
  'configMap',
  'secret',
  'hostPath',
  'projected',
  'downwardAPI',
  'nfs',
  'csi',
  'ephemeral',
];

function volumeErrors(volumes: Json | undefined, field: string): { errors: StatusCause[]; names: Set<string> } {
  const errors: StatusCause[] = [];
  const names = new Set<string>();
  if (volumes === undefined || volumes === null) return { errors, names };
  if (!Array.isArray(volumes)) return { errors: [fieldError.typeInvalid(field, volumes, 'must be a list')], names };
  volumes.forEach((volume, i) => {
    const volumeField = `${field}[${i}]`;
    if (!isJsonObject(volume)) {
      errors.push(fieldError.typeInvalid(volumeField, volume, 'must be an object'));
      return;
    }
    if (typeof volume.name !== 'string' || volume.name === '') {
      errors.push(fieldError.required(`${volumeField}.name`));
    } else {
      errors.push(...nameErrors(volume.name, 'label', `${volumeField}.name`));
      if (names.has(volume.name)) errors.push(fieldError.duplicate(`${volumeField}.name`, volume.name));
      names.add(volume.name);
    }
    const sources = Object.keys(volume).filter((key) => key !== 'name');
    if (sources.length === 0) errors.push(fieldError.required(volumeField, 'must specify a volume type'));
    else if (sources.length > 1)
      errors.push(fieldError.forbidden(volumeField, 'may not specify more than 1 volume type'));
    const claim = volume.persistentVolumeClaim;
    if (claim !== undefined) {
      if (!isJsonObject(claim) || typeof claim.claimName !== 'string' || claim.claimName === '') {
        errors.push(fieldError.required(`${volumeField}.persistentVolumeClaim.claimName`));
      }
    } else if (sources.length === 1 && !volumeSources.includes(sources[0] ?? '')) {
      errors.push(fieldError.notSupported(volumeField, sources[0], volumeSources));
    }
  });
  return { errors, names };
}

/** Field errors of a pod spec at `field` (`spec`, or `spec.template.spec` for Jobs). */
export function podSpecErrors(spec: Json | undefined, field: string): StatusCause[] {
  if (!isJsonObject(spec)) return [fieldError.required(field)];
  const { errors, names } = volumeErrors(spec.volumes, `${field}.volumes`);
  const containers = spec.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    errors.push(fieldError.required(`${field}.containers`));
  } else {
    if (containers.length > 1) {
      errors.push({
        ...fieldError.tooMany(`${field}.containers`, containers.length, 1),
        message: `Too many: ${containers.length}: must have at most 1 items (the lab runs one container per pod)`,
      });
    }
    containers.forEach((container, i) =>
      errors.push(...containerErrors(container, `${field}.containers[${i}]`, names)),
    );
  }
  const initContainers = spec.initContainers;
  if (Array.isArray(initContainers) && initContainers.length > 0) {
    errors.push(fieldError.forbidden(`${field}.initContainers`, 'the lab does not run init containers'));
  }
  const restartPolicy = spec.restartPolicy;
  if (restartPolicy !== undefined && !restartPolicies.includes(restartPolicy as (typeof restartPolicies)[number])) {
    errors.push(fieldError.notSupported(`${field}.restartPolicy`, restartPolicy, restartPolicies));
  }
  nonNegativeInteger(spec.activeDeadlineSeconds, `${field}.activeDeadlineSeconds`, errors, 1);
  nonNegativeInteger(spec.terminationGracePeriodSeconds, `${field}.terminationGracePeriodSeconds`, errors);
  if (spec.nodeName !== undefined && spec.nodeName !== null && typeof spec.nodeName !== 'string') {
    errors.push(fieldError.typeInvalid(`${field}.nodeName`, spec.nodeName, 'must be a string'));
  }
  const selector = spec.nodeSelector;
  if (
    selector !== undefined &&
    selector !== null &&
    (!isJsonObject(selector) || !Object.values(selector).every((v) => typeof v === 'string'))
  ) {
    errors.push(fieldError.typeInvalid(`${field}.nodeSelector`, selector, 'must be a map of strings'));
  }
  return errors;
}

/** Sets a default where a field is absent or empty, as Kubernetes' defaulting functions do. */
export function setDefault(obj: JsonObject, key: string, value: Json): void {
  const current = obj[key];
  if (current === undefined || current === null || current === '') obj[key] = value;
}

/** The defaults the API server fills into a pod spec. */
export function defaultPodSpec(spec: JsonObject): void {
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'securityContext', {});
  setDefault(spec, 'serviceAccountName', 'default');
  setDefault(spec, 'serviceAccount', spec.serviceAccountName ?? 'default');
  setDefault(spec, 'enableServiceLinks', true);
  setDefault(spec, 'priority', 0);
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  for (const container of containers) {
    if (!isJsonObject(container)) continue;
    const image = typeof container.image === 'string' ? container.image : '';
    const lastSegment = image.split('/').pop() ?? '';
    const tagged = lastSegment.includes(':') && !lastSegment.endsWith(':latest');
    setDefault(container, 'imagePullPolicy', tagged || image.includes('@') ? 'IfNotPresent' : 'Always');
    setDefault(container, 'terminationMessagePath', '/dev/termination-log');
    setDefault(container, 'terminationMessagePolicy', 'File');
    setDefault(container, 'resources', {});
  }
}

/** Pod updates may change only a few spec fields, as in Kubernetes. */
export function podSpecUpdateErrors(spec: Json | undefined, old: Json | undefined): StatusCause[] {
  const neutral = (value: Json | undefined): string => {
    if (!isJsonObject(value)) return JSON.stringify(value);
    const copy = structuredClone(value);
    delete copy.activeDeadlineSeconds;
    delete copy.tolerations;
    if (Array.isArray(copy.containers)) for (const c of copy.containers) if (isJsonObject(c)) delete c.image;
    return JSON.stringify(copy);
  };
  if (neutral(spec) === neutral(old)) return [];
  return [
    fieldError.forbidden(
      'spec',
      'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
    ),
  ];
}
