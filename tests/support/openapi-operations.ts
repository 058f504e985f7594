import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { parse } from 'yaml';
import { OPENAPI_FILE } from '../../src/http/app';

/** A JSON Schema fragment of openapi.yaml (loosely typed: the tests only read it). */
export type Schema = Record<string, any>;

export type Parameter = { name: string; in: 'path' | 'query' | 'header' | 'cookie'; required?: boolean; schema: Schema };
export type Operation = {
  method: string;
  path: string;
  operationId: string;
  parameters: Parameter[];
  /** Content type and schema of the request body, when there is one. */
  body?: { contentType: string; schema: Schema; required: boolean };
  /** Status codes the operation documents. */
  statuses: Set<string>;
  /** Security requirement names; [] means public. */
  security: string[];
};

const spec = parse(readFileSync(OPENAPI_FILE, 'utf8'));

/** Follows local `$ref`s (`#/components/...`). */
export function resolve<T = Schema>(node: Schema | undefined): T {
  let n = node;
  for (let i = 0; n && typeof n.$ref === 'string' && i < 20; i++) {
    n = (n.$ref as string).slice(2).split('/').reduce((o: Schema, k: string) => o[k], spec);
  }
  return n as T;
}

/** Every operation of openapi.yaml, read at test time so that new routes are covered without editing the tests. */
export function listOperations(): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries<Schema>(spec.paths)) {
    const shared: Parameter[] = (item.parameters ?? []).map((p: Schema) => resolve(p));
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      const op = item[method];
      if (!op) continue;
      const own: Parameter[] = (op.parameters ?? []).map((p: Schema) => resolve(p));
      const content = resolve(op.requestBody)?.content as Schema | undefined;
      const contentType = content ? Object.keys(content)[0] : undefined;
      ops.push({
        method: method.toUpperCase(),
        path,
        operationId: op.operationId,
        parameters: [...shared.filter((p) => !own.some((o) => o.name === p.name)), ...own],
        body: contentType ? { contentType, schema: resolve(content![contentType].schema), required: !!resolve(op.requestBody).required } : undefined,
        statuses: new Set(Object.keys(op.responses ?? {})),
        security: (op.security ?? spec.security ?? []).flatMap((s: Schema) => Object.keys(s)),
      });
    }
  }
  return ops;
}

/** Known-good values for path and query parameters, by name, so that requests reach the handlers. */
export type Known = Record<string, string>;

/** A value that satisfies `schema` (first enum value, minimum, a short string matching common patterns). */
export function sample(schemaIn: Schema | undefined, name = '', known: Known = {}): unknown {
  const schema = resolve(schemaIn) ?? {};
  if (known[name] !== undefined) return known[name];
  if ('const' in schema) return schema.const;
  if ('default' in schema) return schema.default;
  if (schema.enum) return schema.enum[0];
  if (schema.oneOf || schema.anyOf) return sample((schema.oneOf ?? schema.anyOf)[0], name, known);
  if (schema.allOf) return Object.assign({}, ...schema.allOf.map((s: Schema) => sample(s, name, known)));
  const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== 'null') : schema.type;
  switch (type) {
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'array':
      return Array.from({ length: schema.minItems ?? 1 }, () => sample(schema.items, name, known));
    case 'object':
    case undefined:
      if (!schema.properties) return {};
      return Object.fromEntries(
        Object.entries<Schema>(schema.properties)
          .filter(([k]) => (schema.required ?? []).includes(k))
          .map(([k, s]) => [k, sample(s, k, known)]),
      );
    default:
      if (schema.format === 'uuid') return randomUUID();
      if (schema.format === 'date-time') return new Date().toISOString();
      if (schema.format === 'email') return 'ops@example.com';
      return 'fuzz1'.padEnd(Math.max(5, schema.minLength ?? 0), 'x');
  }
}

/** The URL of an operation with its path parameters filled (values URL-encoded unless `raw`). */
export function fillPath(path: string, values: Record<string, string>, raw = false): string {
  return path.replace(/\{(\w+)\}/g, (_m, name: string) => (raw ? values[name] : encodeURIComponent(values[name] ?? 'x')));
}

export type RawResponse = { status: number; body: string; json?: any; ms: number };
export type RawRequest = { method: string; path: string; headers?: Record<string, string>; body?: string | Buffer };

/** A minimal HTTPS client that sends exactly the bytes it is given (no encoding, no redirects) with a deadline. */
export function rawClient(baseUrl: string, ca: string, timeoutMs: number) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 8, ca });
  const url = new URL(baseUrl);
  const send = (req: RawRequest): Promise<RawResponse> =>
    new Promise((resolve, reject) => {
      const started = Date.now();
      const r = https.request(
        { host: url.hostname, port: url.port, method: req.method, path: req.path, agent, headers: { ...(req.body !== undefined ? { 'content-length': String(Buffer.byteLength(req.body)) } : {}), ...req.headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            let json;
            try {
              json = body ? JSON.parse(body) : undefined;
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, body, json, ms: Date.now() - started });
          });
        },
      );
      r.setTimeout(timeoutMs, () => r.destroy(new Error(`HANG: no answer in ${timeoutMs} ms`)));
      r.on('error', reject);
      if (req.body !== undefined) r.write(req.body);
      r.end();
    });
  return { send, close: () => agent.destroy() };
}
