export { bulkReplayWorkflow, cancelOperationSignal } from './bulk-replay';
export { cancelSignal, deliveryWorkflow, retryNowSignal, stateQuery } from './delivery';
