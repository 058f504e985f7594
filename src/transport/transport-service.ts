import { createHash, createPublicKey, KeyObject, randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { Clock } from '../clock';
import type { SqlTx, Store } from '../store/database';
import type { PkiService } from '../pki/pki-service';
import { HOST_COMMON_NAME_KEY, SYNC_REQUIRED_KEY } from '../hcn/host-common-name';
import type { EventLog } from '../events/event-log';
import type { TokenConsumer } from '../tokens/token-service';
import { parseAndVerifyCsr } from '../pki/x509';
import { AppError, conflict, unauthorized } from '../errors';
import { jwsSigner, pemToDerBase64, verifyJws } from './jws';
import { parseMessage, udiSubject, type AuthorizeClaims, type ProductMessage, type RegisterClaims, type RenewClaims } from './messages';
import type { IdempotencyStore, StoredAnswer } from './idempotency';
import { issueIdCertificate } from './id-certificate';
import { assertRegistered, deregister, lockInstance, lockInstanceStatement, releaseUsage, replaceUsage, type LockedInstance } from './usage-ledger';

type Tx = SqlTx;
export type EntitlementStatus = 'AUTHORIZED' | 'OUT_OF_COMPLIANCE' | 'INVALID_TAG';
/** The licenses module's accounting, asked inside our transaction after the new usage is written. */
export type ComplianceSource = {
  complianceForTags(tx: Tx, virtualAccountId: string, tags: string[], now: Date): Promise<Map<string, EntitlementStatus>>;
};
export type TransportAnswer = { httpStatus: number; body: { response: string } };

export type TransportDeps = {
  /** Raw SQL and transactions: the product-message path runs on the pool directly (see Store.transaction). */
  store: Pick<Store, 'sql' | 'transaction'>;
  clock: Clock;
  pki: PkiService;
  tokens: TokenConsumer;
  licenses: ComplianceSource;
  events: EventLog;
  idempotency: IdempotencyStore;
  clockSkewSeconds: number;
};

const DAY_MS = 86_400_000;
export const AUTHORIZATION_DAYS = 90;
export const NEXT_AUTHORIZATION_DAYS = 30;
export const RENEW_AFTER_MONTHS = 6;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Thrown inside a transaction whose (sender, jti) another transaction already answered. */
class AlreadyAnswered extends Error {}

type InstanceRow = { id: string; udiPid: string; udiSn: string; status: string; publicKeyPem: string; certNotAfter: Date };
type Registration = {
  virtualAccountId: string;
  tokenId: string;
  name: string;
  productType: string;
  softwareVersion: string | null;
  exportControlled: boolean;
  certSerial: string;
  certPem: string;
  publicKeyPem: string;
  certNotAfter: Date;
};
type Preflight = { hostCommonName: string; syncRequired: boolean; stored: StoredAnswer | null; instance: InstanceRow | null };
type PreflightRow = { hostCommonName: unknown; syncRequired: unknown; requestHash: string | null; httpStatus: number | null; body: unknown } & {
  [K in keyof InstanceRow]: InstanceRow[K] | null;
};

/**
 * The Transport Gateway protocol (transport-protocol.md). Each accepted message is applied in one
 * transaction together with its stored answer, so a resent message is answered from the store and
 * never applied twice.
 *
 * Check order for a new message: shape (INVALID_MESSAGE), stored answer for (sender, jti)
 * (same payload: the stored answer, whatever its age; different payload: REPLAYED_MESSAGE),
 * `aud` (HOST_COMMON_NAME_MISMATCH), `iat` (STALE_MESSAGE), then per type: register checks
 * SYNC_REQUIRED, the CSR and the JWS against the CSR key, then the token; the others look the
 * instance up (UNKNOWN_PRODUCT_INSTANCE), verify the JWS with its key (BAD_SIGNATURE), then
 * PRODUCT_INSTANCE_DEREGISTERED and CERTIFICATE_EXPIRED.
 */
export class TransportService {
  private signerCache?: Promise<(claims: Record<string, unknown>) => string>;

  /** Parsed instance keys by PEM: parsing one costs more than verifying a signature with it. */
  private readonly publicKeys = new Map<string, KeyObject>();

  constructor(private readonly deps: TransportDeps) {}

  async handle(compact: string): Promise<TransportAnswer> {
    const message = parseMessage(compact);
    const sender = message.claims.typ === 'register' ? udiSubject(message.claims.udi) : message.kid!;
    const requestHash = createHash('sha256').update(message.jws.payloadSegment).digest('hex');
    const state = await this.preflight(sender, message.claims.jti, message.kid);
    if (state.stored) return replay(state.stored, requestHash);

    const now = this.deps.clock();
    this.checkAudienceAndAge(message, state.hostCommonName, now);
    const key = { sender, jti: message.claims.jti, requestHash };
    try {
      switch (message.claims.typ) {
        case 'register':
          return await this.register(message, message.claims, state.syncRequired, key, now);
        case 'renew':
          return await this.renew(message, message.claims, state.instance, key, now);
        case 'authorize':
          return await this.authorize(message, message.claims, state.instance, key, now);
        case 'deregister':
          return await this.deregister(message, state.instance, key, now);
      }
    } catch (err) {
      if (!(err instanceof AlreadyAnswered)) throw err;
      const answer = await this.deps.idempotency.find(sender, message.claims.jti);
      if (!answer) throw new AppError('INTERNAL_ERROR', 500, 'idempotency record vanished');
      return replay(answer, requestHash);
    }
  }

  /**
   * Everything a message needs before its transaction, in one statement: the stored answer for
   * (sender, jti), the Host Common Name with its sync-required flag, and the instance `kid` names.
   */
  private async preflight(sender: string, jti: string, kid: string | undefined): Promise<Preflight> {
    const instanceId = kid !== undefined && UUID.test(kid) ? kid : null;
    const [row] = await this.deps.store.sql.$queryRaw<PreflightRow[]>`
      SELECT (SELECT value FROM setting WHERE key = ${HOST_COMMON_NAME_KEY}) AS "hostCommonName",
             (SELECT value FROM setting WHERE key = ${SYNC_REQUIRED_KEY}) AS "syncRequired",
             r.request_hash AS "requestHash", r.http_status AS "httpStatus", r.body,
             p.id::text AS "id", p.udi_pid AS "udiPid", p.udi_sn AS "udiSn", p.status::text AS "status",
             p.public_key_pem AS "publicKeyPem", p.cert_not_after AS "certNotAfter"
        FROM (VALUES (1)) AS one (x)
        LEFT JOIN idempotency_record r ON r.sender = ${sender} AND r.jti = ${jti}
        LEFT JOIN product_instance p ON p.id = ${instanceId}::uuid`;
    if (typeof row.hostCommonName !== 'string') throw new Error('Host Common Name is not initialized');
    return {
      hostCommonName: row.hostCommonName,
      syncRequired: row.syncRequired === true,
      stored: row.requestHash === null ? null : { requestHash: row.requestHash, httpStatus: row.httpStatus!, body: row.body },
      instance: row.id === null
        ? null
        : { id: row.id, udiPid: row.udiPid!, udiSn: row.udiSn!, status: row.status!, publicKeyPem: row.publicKeyPem!, certNotAfter: row.certNotAfter! },
    };
  }

  private checkAudienceAndAge(message: ProductMessage, current: string, now: Date): void {
    if (canonicalHost(message.claims.aud) !== canonicalHost(current)) {
      throw new AppError('HOST_COMMON_NAME_MISMATCH', 421, `aud ${message.claims.aud} is not this server's Host Common Name ${current}`, {
        hostCommonName: current,
      });
    }
    const skew = Math.abs(now.getTime() / 1000 - message.claims.iat);
    if (skew > this.deps.clockSkewSeconds) {
      throw unauthorized('STALE_MESSAGE', `iat is ${Math.round(skew)} s from server time (at most ${this.deps.clockSkewSeconds} s allowed)`);
    }
  }

  private async register(message: ProductMessage, claims: RegisterClaims, syncRequired: boolean, key: IdemKey, now: Date): Promise<TransportAnswer> {
    if (syncRequired) {
      throw conflict('SYNC_REQUIRED', 'the Host Common Name changed: the server must synchronize before products can register');
    }
    // Cheap refusals first (token signature in process, then its state in one indexed read), so a
    // bad token never buys the CSR parse, two signature checks and a certificate.
    const verifiedToken = this.deps.tokens.verify(claims.idToken);
    await this.deps.tokens.check(this.deps.store.sql, verifiedToken, now);
    const csr = parseAndVerifyCsr(claims.csr);
    verifyJws(message.jws, csr.publicKey);
    // Depends on nothing stored, so it is built before the transaction instead of under its locks.
    const ca = await this.deps.pki.ca();
    const cert = issueIdCertificate(ca, csr.publicKey, claims.udi, now);
    const publicKeyPem = this.remember(csr.publicKey);
    return this.apply(key, now, { which: claims.udi }, async (tx, existing) => {
      const token = await this.deps.tokens.consume(tx, verifiedToken, now);
      const f: Registration = {
        virtualAccountId: token.virtualAccountId,
        tokenId: token.tokenId,
        name: claims.hostname,
        productType: claims.productType,
        softwareVersion: claims.softwareVersion ?? null,
        exportControlled: token.exportControlled,
        certSerial: cert.serialHex,
        certPem: cert.pem,
        publicKeyPem,
        certNotAfter: cert.notAfter,
      };
      const instance = existing ? { ...existing, isNew: false } : await this.insertInstance(tx, claims.udi, f, now);
      if (!instance.isNew) {
        assertMayMove(instance, token.virtualAccountId, publicKeyPem);
        if (instance.status === 'REGISTERED' && instance.virtualAccountId !== token.virtualAccountId) {
          // Its usage belongs to the old virtual account; the product reports again on its next authorize.
          await releaseUsage(tx, instance);
        }
        await tx.$executeRaw`
          UPDATE product_instance
             SET virtual_account_id = ${f.virtualAccountId}::uuid, token_id = ${f.tokenId}::uuid, name = ${f.name}, product_type = ${f.productType},
                 software_version = ${f.softwareVersion}, status = 'REGISTERED', export_controlled = ${f.exportControlled},
                 cert_serial = ${f.certSerial}, cert_pem = ${f.certPem}, public_key_pem = ${f.publicKeyPem}, cert_not_after = ${f.certNotAfter},
                 last_contact_at = ${now}, deregistered_at = NULL
           WHERE id = ${instance.id}::uuid`;
      }
      await this.deps.events.record({
        actor: key.sender,
        action: instance.isNew ? 'product.register' : 'product.reregister',
        objectType: 'product-instance',
        objectId: instance.id,
        outcome: 'success',
        details: { account: token.accountName, virtualAccount: token.virtualAccountName, tokenId: token.tokenId, certSerial: cert.serialHex },
      }, tx);
      return {
        typ: 'register',
        status: 'REGISTERED',
        productInstance: {
          id: instance.id,
          name: claims.hostname,
          udi: { pid: claims.udi.pid, sn: claims.udi.sn },
          smartAccount: token.smartAccount,
          virtualAccount: token.virtualAccountName,
        },
        idCertificate: cert.pem,
        caChain: [ca.certPem],
        renewAfter: addMonths(now, RENEW_AFTER_MONTHS).toISOString(),
        exportControlled: token.exportControlled,
      };
    });
  }

  private async renew(message: ProductMessage, claims: RenewClaims, known: InstanceRow | null, key: IdemKey, now: Date): Promise<TransportAnswer> {
    const instance = this.authenticate(message, known, now);
    const newKey = claims.csr ? parseAndVerifyCsr(claims.csr).publicKey : this.publicKey(instance.publicKeyPem);
    const publicKeyPem = claims.csr ? this.remember(newKey) : instance.publicKeyPem;
    const cert = issueIdCertificate(await this.deps.pki.ca(), newKey, { pid: instance.udiPid, sn: instance.udiSn }, now);
    return this.apply(key, now, { which: instance.id }, async (tx, locked) => {
      usable(locked, instance.id, now);
      await tx.$executeRaw`
        UPDATE product_instance
           SET cert_serial = ${cert.serialHex}, cert_pem = ${cert.pem}, public_key_pem = ${publicKeyPem},
               cert_not_after = ${cert.notAfter}, last_contact_at = ${now}
         WHERE id = ${instance.id}::uuid`;
      await this.deps.events.record({
        actor: instance.id, action: 'product.renew', objectType: 'product-instance', objectId: instance.id, outcome: 'success',
        details: { certSerial: cert.serialHex, newKey: Boolean(claims.csr) },
      }, tx);
      return { typ: 'renew', idCertificate: cert.pem, renewAfter: addMonths(now, RENEW_AFTER_MONTHS).toISOString() };
    });
  }

  /**
   * Overall is AUTHORIZED only when every entitlement with a count above 0 is AUTHORIZED: a tag
   * this virtual account never bought (INVALID_TAG) that is in use makes the product
   * OUT_OF_COMPLIANCE too, while entries with count 0 use nothing and never change the outcome.
   */
  private async authorize(message: ProductMessage, claims: AuthorizeClaims, known: InstanceRow | null, key: IdemKey, now: Date): Promise<TransportAnswer> {
    const instance = this.authenticate(message, known, now);
    return this.apply(key, now, { which: instance.id, contactAt: now }, async (tx, locked) => {
      const current = usable(locked, instance.id, now);
      await replaceUsage(tx, current, claims.entitlements);
      const statuses = await this.deps.licenses.complianceForTags(tx, current.virtualAccountId, claims.entitlements.map((e) => e.tag), now);
      const entitlements = claims.entitlements.map((e) => ({ tag: e.tag, count: e.count, status: statuses.get(e.tag) ?? 'INVALID_TAG' }));
      const compliant = entitlements.every((e) => e.count === 0 || e.status === 'AUTHORIZED');
      return {
        typ: 'authorize',
        overall: compliant ? 'AUTHORIZED' : 'OUT_OF_COMPLIANCE',
        entitlements,
        authorizationExpires: new Date(now.getTime() + AUTHORIZATION_DAYS * DAY_MS).toISOString(),
        nextAuthorization: new Date(now.getTime() + NEXT_AUTHORIZATION_DAYS * DAY_MS).toISOString(),
      };
    });
  }

  private async deregister(message: ProductMessage, known: InstanceRow | null, key: IdemKey, now: Date): Promise<TransportAnswer> {
    const instance = this.authenticate(message, known, now);
    return this.apply(key, now, { which: instance.id, contactAt: now }, async (tx, locked) => {
      await deregister(tx, usable(locked, instance.id, now), now);
      await this.deps.events.record({
        actor: instance.id, action: 'product.deregister', objectType: 'product-instance', objectId: instance.id, outcome: 'success',
      }, tx);
      return { typ: 'deregister', status: 'DEREGISTERED' };
    });
  }

  /** The instance named by `kid` (as the preflight read it), with the JWS verified against its current key. */
  private authenticate(message: ProductMessage, instance: InstanceRow | null, now: Date): InstanceRow {
    if (!instance) throw new AppError('UNKNOWN_PRODUCT_INSTANCE', 404, `no product instance with id ${message.kid}`);
    verifyJws(message.jws, this.publicKey(instance.publicKeyPem));
    checkUsable({ ...instance, virtualAccountId: '', status: instance.status as LockedInstance['status'] }, now);
    return instance;
  }

  private publicKey(pem: string): KeyObject {
    return this.publicKeys.get(pem) ?? this.cacheKey(pem, createPublicKey(pem));
  }

  /** The PEM stored for a key a product just proved it holds; its next message then needs no parse. */
  private remember(key: KeyObject): string {
    const pem = key.export({ type: 'spki', format: 'pem' }) as string;
    this.cacheKey(pem, key);
    return pem;
  }

  private cacheKey(pem: string, key: KeyObject): KeyObject {
    if (this.publicKeys.size >= 10_000) this.publicKeys.clear();
    this.publicKeys.set(pem, key);
    return key;
  }

  /**
   * A first registration inserts the whole row. A racing first registration of the same UDI waits
   * on the winner's insert, inserts nothing, and then locks the winner's row.
   */
  private async insertInstance(tx: Tx, udi: { pid: string; sn: string }, f: Registration, now: Date): Promise<LockedInstance & { isNew: boolean }> {
    const id = randomUUID();
    const count = await tx.$executeRaw`
      INSERT INTO product_instance (id, virtual_account_id, token_id, udi_pid, udi_sn, name, product_type, software_version, export_controlled,
                                    cert_serial, cert_pem, public_key_pem, cert_not_after, registered_at, last_contact_at)
      VALUES (${id}::uuid, ${f.virtualAccountId}::uuid, ${f.tokenId}::uuid, ${udi.pid}, ${udi.sn}, ${f.name}, ${f.productType}, ${f.softwareVersion},
              ${f.exportControlled}, ${f.certSerial}, ${f.certPem}, ${f.publicKeyPem}, ${f.certNotAfter}, ${now}, ${now})
      ON CONFLICT DO NOTHING`;
    if (count === 1) return { id, virtualAccountId: f.virtualAccountId, status: 'REGISTERED', certNotAfter: f.certNotAfter, publicKeyPem: f.publicKeyPem, isNew: true };
    const winner = await lockInstance(tx, udi);
    if (!winner) throw new AppError('INTERNAL_ERROR', 500, 'product instance row vanished');
    return { ...winner, isNew: false };
  }

  /**
   * Claims (sender, jti), locks the instance, runs the effect and stores its signed answer, in one
   * transaction; the claim and the lock share its first statement. Keys are loaded before it
   * starts: a transaction must not wait for a second pool connection, or a burst of registrations
   * queued on one token's row lock could hold every connection and stall.
   */
  private async apply(
    key: IdemKey,
    now: Date,
    lock: { which: string | { pid: string; sn: string }; contactAt?: Date },
    effect: (tx: Tx, locked: LockedInstance | null) => Promise<Record<string, unknown>>,
  ): Promise<TransportAnswer> {
    const signer = await this.signer();
    return this.deps.store.transaction(async (tx) => {
      const { claimed, row } = await this.deps.idempotency.claimThen<LockedInstance>(tx, key, (onlyIf) =>
        lockInstanceStatement(lock.which, lock.contactAt, onlyIf));
      if (!claimed) throw new AlreadyAnswered();
      const claims = await effect(tx, row);
      const body = { response: signer({ ...claims, iat: Math.floor(now.getTime() / 1000), requestJti: key.jti }) };
      await this.deps.idempotency.complete(tx, key.sender, key.jti, 200, body);
      return { httpStatus: 200, body };
    });
  }

  private signer() {
    this.signerCache ??= (async () => {
      const [signer, ca] = await Promise.all([this.deps.pki.responseSigner(), this.deps.pki.ca()]);
      return jwsSigner(signer.key, { x5c: [pemToDerBase64(signer.certPem), pemToDerBase64(ca.certPem)] });
    })().catch((err) => {
      this.signerCache = undefined;
      throw err;
    });
    return this.signerCache;
  }
}

type IdemKey = { sender: string; jti: string; requestHash: string };

function replay(stored: StoredAnswer, requestHash: string): TransportAnswer {
  if (stored.requestHash !== requestHash) {
    throw conflict('REPLAYED_MESSAGE', 'this jti was already used by a different message from this product');
  }
  return { httpStatus: stored.httpStatus, body: stored.body as TransportAnswer['body'] };
}

function checkUsable(instance: LockedInstance, now: Date): void {
  assertRegistered(instance);
  if (instance.certNotAfter.getTime() <= now.getTime()) {
    throw unauthorized('CERTIFICATE_EXPIRED', 'the ID certificate of this product instance has expired: register again');
  }
}

/**
 * A UDI printed on a device is no secret, and any token's string may be known to someone: a
 * registered instance moves to another virtual account only when the message is signed by its
 * current key (the CSR carries that key), or after it was released (deregistered by itself or
 * removed by an admin). Within its own virtual account it re-registers with any key, as before.
 */
function assertMayMove(instance: LockedInstance, toVirtualAccountId: string, publicKeyPem: string): void {
  if (instance.status === 'REGISTERED' && instance.virtualAccountId !== toVirtualAccountId && instance.publicKeyPem !== publicKeyPem) {
    throw new AppError('UDI_REGISTERED_ELSEWHERE', 409,
      'this UDI is registered in another virtual account: sign with the instance\'s current key, or have an admin remove the instance first');
  }
}

/** Re-checks under the row lock: an admin may have removed the instance meanwhile. */
function usable(locked: LockedInstance | null, id: string, now: Date): LockedInstance {
  if (!locked) throw new AppError('UNKNOWN_PRODUCT_INSTANCE', 404, `no product instance with id ${id}`);
  checkUsable(locked, now);
  return locked;
}

/** `aud` in the Host Common Name's canonical form (lower case, RFC 5952 IPv6, no brackets or trailing dot). */
function canonicalHost(host: string): string {
  const name = host.trim().toLowerCase().replace(/\.$/, '');
  const bare = /^\[(.*)\]$/.exec(name)?.[1] ?? name;
  return isIP(bare) === 6 ? new URL(`http://[${bare}]/`).hostname.slice(1, -1) : bare;
}

function addMonths(date: Date, months: number): Date {
  const d = new Date(date.getTime());
  d.setUTCMonth(d.getUTCMonth() + months);
  return d;
}
