// What hookflow stores about an endpoint's health, apart from the endpoint's own settings (which the API's
// PATCH rewrites): the breaker, the deliveries waiting for it, and the limiter's slots and leases. Slots and
// leases are insert-only documents whose `_id` is the claim: a unique key is the one write the embedded
// FerretDB makes atomic across processes (its updates read, then replace).
import { model, Schema } from 'mongoose';
import { z } from 'zod';

export const CIRCUIT_STATES = ['closed', 'open', 'half_open'] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];

export interface EndpointHealthDoc {
  _id: string;
  project_id: string;
  state: CircuitState;
  /** When the breaker last changed state. */
  since: Date;
  /** When it opened, kept through half_open: auto-disable counts from here. */
  opened_at: Date | null;
  last_probe_at: Date | null;
  last_probe_ok: boolean | null;
  next_probe_at: Date | null;
  /** The delivery whose attempt is the probe while half_open. */
  probe_delivery_id: string | null;
}

export const EndpointHealth = model<EndpointHealthDoc>(
  'EndpointHealth',
  new Schema<EndpointHealthDoc>(
    {
      _id: String,
      project_id: String,
      state: { type: String, enum: CIRCUIT_STATES },
      since: Date,
      opened_at: Date,
      last_probe_at: Date,
      last_probe_ok: Boolean,
      next_probe_at: Date,
      probe_delivery_id: String,
    },
    { versionKey: false },
  ),
  'endpoint_health',
);

export const HOLD_REASONS = ['circuit_open', 'endpoint_paused', 'endpoint_disabled'] as const;
export type HoldReason = (typeof HOLD_REASONS)[number];

/** A delivery waiting for its endpoint to be let through again; `_id` is the delivery id (time-ordered). */
export interface HeldDeliveryDoc {
  _id: string;
  project_id: string;
  endpoint_id: string;
  workflow_id: string;
  reason: HoldReason;
  held_at: Date;
}

export const HeldDelivery = model<HeldDeliveryDoc>(
  'HeldDelivery',
  new Schema<HeldDeliveryDoc>(
    {
      _id: String,
      project_id: String,
      endpoint_id: String,
      workflow_id: String,
      reason: String,
      held_at: Date,
    },
    { versionKey: false },
  ).index({ endpoint_id: 1, _id: 1 }),
  'held_deliveries',
);

/** One request's turn: `_id` is `<endpoint>:<rate>:<slot number>`. */
export interface RateSlotDoc {
  _id: string;
  at: Date;
}

export const RateSlot = model<RateSlotDoc>(
  'RateSlot',
  new Schema<RateSlotDoc>({ _id: String, at: Date }, { versionKey: false }),
  'rate_slots',
);

/** One of an endpoint's `max_in_flight` places: `_id` is `<endpoint>:<n>`; expires if its holder died. */
export interface InFlightLeaseDoc {
  _id: string;
  holder: string;
  expires_at: Date;
}

export const InFlightLease = model<InFlightLeaseDoc>(
  'InFlightLease',
  new Schema<InFlightLeaseDoc>({ _id: String, holder: String, expires_at: Date }, { versionKey: false }),
  'in_flight_leases',
);

/** The breaker as the API shows it on an endpoint. */
export const CircuitResource = z
  .strictObject({
    state: z.enum(CIRCUIT_STATES),
    since: z.date().nullable().meta({ description: 'When it last changed state (null: never opened).' }),
    opened_at: z.date().nullable(),
    last_probe_at: z.date().nullable(),
    last_probe_ok: z.boolean().nullable(),
    next_probe_at: z.date().nullable(),
  })
  .meta({ id: 'Circuit' });

export function presentCircuit(
  health: EndpointHealthDoc | null | undefined,
): z.output<typeof CircuitResource> {
  return {
    state: health?.state ?? 'closed',
    since: health?.since ?? null,
    opened_at: health?.state === 'closed' ? null : (health?.opened_at ?? null),
    last_probe_at: health?.last_probe_at ?? null,
    last_probe_ok: health?.last_probe_ok ?? null,
    next_probe_at: health?.state === 'open' ? (health.next_probe_at ?? null) : null,
  };
}
