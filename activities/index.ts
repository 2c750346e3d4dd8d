import { markFinal } from '../src/deliveries/view';
import { createSendWebhook, type SendWebhookDeps } from './send-webhook';

export function createActivities(deps: SendWebhookDeps) {
  return {
    sendWebhook: createSendWebhook(deps),
    /** Cancelled, or failed without the send activity having recorded why (e.g. every attempt timed out). */
    async markDeliveryFinal(input: {
      deliveryId: string;
      runId: string;
      status: 'cancelled' | 'failed';
      error: string;
    }) {
      await markFinal(input.deliveryId, input.runId, input.status, input.error);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
