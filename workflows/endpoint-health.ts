// One endpoint's health, while it needs looking after: an open circuit breaker is probed with one real
// delivery at a time, with backoff, until a probe succeeds (or the endpoint is set active again); then the
// deliveries that waited are let go, oldest first, at the endpoint's rate. An endpoint whose breaker stays
// open for `disable_after_s` is disabled; its deliveries keep waiting until it is set active again.
import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  type EndpointHealthInput,
  type ProbeResult,
  SearchAttributes,
  Signals,
} from '../src/delivery-contract';
import { DEFAULT_BREAKER, probeDelayMs } from '../src/endpoint-health/settings';

export const circuitOpenedSignal = defineSignal<[string]>(Signals.circuitOpened);
export const resumeSignal = defineSignal(Signals.resume);
export const probeResultSignal = defineSignal<[ProbeResult]>(Signals.probeResult);

export interface EndpointHealthState {
  state: 'open' | 'half_open' | 'closed' | 'disabled';
  openedAt: string | null;
  failedProbes: number;
  probeDeliveryId: string | null;
}
export const healthStateQuery = defineQuery<EndpointHealthState>('state');

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});
const drainActs = proxyActivities<Activities>({
  startToCloseTimeout: '1 day',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/** Probes before the run continues as new, keeping its history short over days of an open breaker. */
const PROBES_PER_RUN = 100;

export async function endpointHealthWorkflow(input: EndpointHealthInput): Promise<void> {
  const ref = { projectId: input.projectId, endpointId: input.endpointId };
  const live: EndpointHealthState = {
    state: input.openedAt ? 'open' : 'closed',
    openedAt: input.openedAt ?? null,
    failedProbes: input.failedProbes ?? 0,
    probeDeliveryId: null,
  };
  let resumed = false;
  let probeOk: boolean | null = null;
  setHandler(healthStateQuery, () => live);
  setHandler(circuitOpenedSignal, (at) => {
    if (live.openedAt === null) live.openedAt = at;
  });
  setHandler(resumeSignal, () => {
    resumed = true;
  });
  setHandler(probeResultSignal, (result) => {
    if (result.deliveryId === live.probeDeliveryId) probeOk = result.ok;
  });
  const show = (state: EndpointHealthState['state']) => {
    live.state = state;
    // Not HookflowEndpointId: queries over an endpoint's deliveries (README, CLI) must not match this one.
    upsertSearchAttributes([{ key: SearchAttributes.circuitState, value: state }]);
  };

  for (;;) {
    if (live.openedAt !== null) {
      show('open');
      if (!input.openedAt || live.openedAt !== input.openedAt)
        await acts.announceCircuitOpened({ ...ref, openedAt: live.openedAt });
      let probes = 0;
      // Probe until a probe succeeds or the endpoint is set active by hand.
      while (!resumed) {
        if (probes++ >= PROBES_PER_RUN)
          await continueAsNew<typeof endpointHealthWorkflow>({
            ...input,
            openedAt: live.openedAt,
            failedProbes: live.failedProbes,
          });
        const settings = await acts.endpointSettings(ref);
        if (!settings) return; // deleted: nothing left to look after
        const disableAfterMs =
          (settings.circuitBreaker.disable_after_s ?? DEFAULT_BREAKER.disable_after_s) * 1000;
        const disableAt = Date.parse(live.openedAt) + disableAfterMs;
        await condition(
          () => resumed,
          Math.max(1, Math.min(probeDelayMs(live.failedProbes), disableAt - Date.now())),
        );
        if (resumed) break;
        if (Date.now() >= disableAt) {
          const days = Math.round((disableAfterMs / 86_400_000) * 10) / 10;
          await acts.disableEndpoint({
            ...ref,
            openedAt: live.openedAt,
            reason: `circuit breaker open since ${live.openedAt} (${days} days): the endpoint kept failing`,
          });
          show('disabled');
          await condition(() => resumed);
          break;
        }
        live.probeDeliveryId = await acts.startProbe(ref);
        if (live.probeDeliveryId === null) {
          // Nothing waits to probe with: look again later.
          live.failedProbes++;
          continue;
        }
        show('half_open');
        probeOk = null;
        await condition(() => probeOk !== null || resumed, settings.timeoutMs + 60_000);
        live.probeDeliveryId = null;
        if (probeOk === true) break;
        if (resumed) break;
        live.failedProbes++;
        await acts.reopenCircuit({
          ...ref,
          nextProbeAt: new Date(Date.now() + probeDelayMs(live.failedProbes)).toISOString(),
        });
        show('open');
      }
      await acts.closeCircuit({ ...ref, probed: probeOk === true });
      live.openedAt = null;
      live.failedProbes = 0;
    }
    show('closed');
    // Set active by hand: a breaker left open by a run that no longer runs closes too.
    if (resumed) await acts.closeCircuit({ ...ref, probed: false });
    resumed = false;
    await drainActs.drainHeld(ref);
    // Done unless the breaker opened again or the endpoint was resumed meanwhile.
    if (live.openedAt === null && !resumed) return;
  }
}
