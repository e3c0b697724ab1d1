import pino, { type Logger } from 'pino';
import type { Config } from './config';

export type { Logger } from 'pino';

/**
 * Structured JSON logs (one line per request/batch). Level is written as a string so logs from every
 * service can be filtered the same way. Pretty mode is for humans at a terminal (npm start).
 */
export function createLogger(config: Pick<Config, 'LOG_LEVEL' | 'LOG_PRETTY'>, service: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.LOG_LEVEL,
    base: { service },
    formatters: { level: (label) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', '*.authorization', '*.password'], censor: '[redacted]' },
  };
  if (config.LOG_PRETTY) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, singleLine: true, ignore: 'pid,hostname' } },
    });
  }
  // A destination is for tests that read what a service logs (e.g. that no API key ever appears).
  return destination ? pino(options, destination) : pino(options);
}
