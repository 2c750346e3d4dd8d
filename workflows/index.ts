export { bulkReplayWorkflow, cancelOperationSignal } from './bulk-replay';
export { cancelSignal, deliveryWorkflow, retryNowSignal, stateQuery } from './delivery';
export { endpointHealthWorkflow, healthStateQuery } from './endpoint-health';
export { fanOutWorkflow } from './fan-out';
export { reconcileViewsWorkflow } from './reconcile-views';
export { retentionWorkflow } from './retention';
