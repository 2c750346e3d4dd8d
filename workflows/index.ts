export { bulkReplayWorkflow, cancelOperationSignal } from './bulk-replay';
export { cancelSignal, deliveryWorkflow, retryNowSignal, stateQuery } from './delivery';
export { reconcileViewsWorkflow } from './reconcile-views';
