export { acceptExec, notWebSocketStatus, rejectUpgrade, respondNotWebSocket } from './server.js';
export { httpErrorStatus, type ExecProtocol, type KubernetesStatus } from './frames.js';
export { parseExecQuery, type ExecParams, type ParsedExecQuery } from './query.js';
