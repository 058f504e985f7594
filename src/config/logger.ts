import pino, { type Logger } from 'pino';
import type { Config } from './config';

/** JSON logs; pretty only when a person watches a terminal. Secrets are never logged. */
export function createLogger(level: Config['logLevel']): Logger {
  return pino({
    level,
    redact: {
      paths: ['req.headers.authorization', 'password', 'client_secret', 'secret', '*.password', '*.secret'],
      censor: '[redacted]',
    },
    ...(process.stdout.isTTY ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
}
