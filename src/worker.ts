import { NativeConnection, Worker } from '@temporalio/worker';
import { Agent } from 'undici';
import { createActivities } from '../activities';
import type { Logger } from './logger';

export interface WorkerOptions {
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  logger: Logger;
}

export async function createDeliveryWorker({ temporalAddress, namespace, taskQueue, logger }: WorkerOptions) {
  const connection = await NativeConnection.connect({ address: temporalAddress });
  // One keep-alive pool per origin; redirects are never followed (undici's default).
  const dispatcher = new Agent({ connections: 64, keepAliveTimeout: 30_000, pipelining: 1 });
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities({ dispatcher, logger }),
    maxConcurrentActivityTaskExecutions: 200,
  });
  return {
    worker,
    async close() {
      await connection.close();
      await dispatcher.close();
    },
  };
}
