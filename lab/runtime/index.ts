export type * from './contract.js';
export { flavourOf } from './images.js';
export { createPodRuntime, type PodRuntimeOptions } from './podRuntime.js';
