import pino from 'pino';
import pretty from 'pino-pretty';

/**
 * JSON lines for log collectors; on a terminal (stdout a TTY), one readable coloured line per record instead.
 * Redaction is a safety net: code never passes secrets or API keys to the logger on purpose.
 */
export function createLogger(level: string, { terminal = process.stdout.isTTY === true } = {}) {
  const options = {
    level,
    base: { service: 'hookflow' },
    redact: {
      paths: [
        'secret',
        '*.secret',
        'secrets',
        '*.secrets',
        'key',
        '*.key',
        'headers.authorization',
        'headers["x-api-key"]',
      ],
      censor: '[redacted]',
    },
  };
  if (!terminal) return pino(options);
  // Synchronous, in this process: no worker thread, and nothing lost when the process exits at once.
  return pino(options, pretty({ colorize: true, sync: true, ignore: 'pid,hostname,service' }));
}

export type Logger = ReturnType<typeof createLogger>;
