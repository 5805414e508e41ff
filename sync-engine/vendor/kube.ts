/**
 * The parts of `@kubernetes/client-node` Tether uses, in one place. The package is about a thousand ES modules
 * (mostly generated API models); loading them one by one costs 0.5–1.5 s of every `tether` start on a 2-core
 * machine, which dominates a one-change re-sync. `npm run build` therefore bundles this module with its
 * dependencies into one file (see build.js beside it); under tsx (tests, the lab) it is a plain re-export.
 * Import values from here, never from the package (ESLint enforces it; type-only imports are fine), so that one
 * copy of each class exists at run time and `instanceof ApiException` holds.
 */
export { ApiException, AuthorizationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
