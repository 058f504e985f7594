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
    // On a terminal, one line per entry: the request line's message already says method, URL, status and time.
    ...(process.stdout.isTTY
      ? { transport: { target: 'pino-pretty', options: { colorize: true, singleLine: true, ignore: 'pid,hostname,req,res,responseTime' } } }
      : {}),
  });
}
