import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';

/** Connects, retrying for up to `timeoutMs` while the server finishes starting. */
export async function connectTemporalClient(
  address: string,
  namespace: string,
  timeoutMs = 60_000,
): Promise<Client> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 5_000 });
      await connection.workflowService.describeNamespace({ namespace });
      return new Client({ connection, namespace });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}
