// Operational events raised by a delivery's end: delivery.exhausted for every failed delivery, and
// endpoint.disabled when its receiver's 410 disabled the endpoint.

import { Delivery, type DeliveryDoc } from '../src/deliveries/model';
import type { TemporalTarget } from '../src/deliveries/start';
import { emitOperationalEvent } from '../src/operational/events';

export function createOperationalActivities(temporal: TemporalTarget) {
  return {
    async announceFailure({ deliveryId, projectId }: { deliveryId: string; projectId: string }) {
      const view = (await Delivery.collection.findOne({ _id: deliveryId } as never)) as DeliveryDoc | null;
      if (view?.status !== 'failed') return;
      const about = { endpoint_id: view.endpoint_id, consumer_id: view.consumer_id ?? null };
      if (view.last_status_code === 410)
        await emitOperationalEvent(
          temporal,
          projectId,
          'endpoint.disabled',
          { ...about, reason: 'receiver answered 410 Gone', trigger: 'gone' },
          `gone:${deliveryId}`,
        );
      await emitOperationalEvent(
        temporal,
        projectId,
        'delivery.exhausted',
        {
          ...about,
          delivery_id: deliveryId,
          event_id: view.event_id,
          event_type: view.event_type,
          last_error: view.last_error ?? null,
        },
        `${deliveryId}:${view.attempts}`,
      );
    },
  };
}
