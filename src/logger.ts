import pino from 'pino';

// Redaction is a safety net: code never passes secrets or API keys to the logger on purpose.
export function createLogger(level: string) {
  return pino({
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
  });
}

export type Logger = ReturnType<typeof createLogger>;
