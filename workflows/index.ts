export { bulkReplayWorkflow, cancelOperationSignal } from './bulk-replay';
export { cancelSignal, deliveryWorkflow, retryNowSignal, stateQuery } from './delivery';
export { endpointHealthWorkflow, healthStateQuery } from './endpoint-health';
export { reconcileViewsWorkflow } from './reconcile-views';
