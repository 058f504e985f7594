/** The console's only way to the server: same origin, the session cookie, and the CSRF double-submit header on writes. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  /** The request field the server blames, from the OpenAPI validator's path (`/body/name`) or `details.field`. */
  field(): string | undefined {
    const errors = this.details?.errors as { path?: string }[] | undefined;
    const p = errors?.find((e) => typeof e.path === 'string')?.path;
    if (p) return p.replace(/^\/(body|query)\//, '').split('/')[0];
    return typeof this.details?.field === 'string' ? this.details.field : undefined;
  }
}

/** 401 codes meaning the browser's session is gone (as opposed to a wrong password on a form). */
export const SESSION_CODES = new Set(['SESSION_INVALID', 'SESSION_EXPIRED', 'SESSION_REVOKED', 'AUTHENTICATION_REQUIRED']);

let sessionLost: (err: ApiError) => void = () => undefined;
export function onSessionLost(handler: (err: ApiError) => void): void {
  sessionLost = handler;
}

function csrfToken(): string | undefined {
  const match = document.cookie.split(';').map((c) => c.trim()).find((c) => c.startsWith('slm_csrf='));
  return match ? decodeURIComponent(match.slice('slm_csrf='.length)) : undefined;
}

export async function api<T = unknown>(method: string, path: string, body?: unknown, timeoutMs = 60_000): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') {
    const csrf = csrfToken();
    if (csrf) headers['X-CSRF-Token'] = csrf;
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store', signal: AbortSignal.timeout(timeoutMs) });
  } catch {
    throw new ApiError(0, 'NETWORK_ERROR', 'the server cannot be reached');
  }
  const text = res.status === 204 ? '' : await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined)?.error;
    const err = new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? (res.statusText || `HTTP ${res.status}`), e?.details);
    if (res.status === 401 && SESSION_CODES.has(err.code)) sessionLost(err);
    throw err;
  }
  return json as T;
}

export const enc = encodeURIComponent;
