export { cancelSignal, deliveryWorkflow, retryNowSignal, stateQuery } from './delivery';
