import { createHash, createPublicKey, KeyObject, randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { Clock } from '../app-context';
import type { Prisma } from '../generated/prisma/client';
import type { Db } from '../store/database';
import type { Credential, PkiService } from '../pki/pki-service';
import type { HostCommonNameService } from '../hcn/host-common-name';
import type { EventLog } from '../events/event-log';
import type { TokenConsumer } from '../tokens/token-service';
import { parseAndVerifyCsr } from '../pki/x509';
import { AppError, conflict, unauthorized } from '../errors';
import { pemToDerBase64, signJws, verifyJws } from './jws';
import { parseMessage, udiSubject, type AuthorizeClaims, type ProductMessage, type RegisterClaims, type RenewClaims } from './messages';
import type { IdempotencyStore, StoredAnswer } from './idempotency';
import { issueIdCertificate } from './id-certificate';
import { assertRegistered, deregister, lockInstance, releaseUsage, replaceUsage, type LockedInstance } from './usage-ledger';

type Tx = Prisma.TransactionClient;
export type EntitlementStatus = 'AUTHORIZED' | 'OUT_OF_COMPLIANCE' | 'INVALID_TAG';
/** Engineer B's license accounting, asked inside our transaction after the new usage is written. */
export type ComplianceSource = {
  complianceForTags(tx: Tx, virtualAccountId: string, tags: string[], now: Date): Promise<Map<string, EntitlementStatus>>;
};
export type TransportAnswer = { httpStatus: number; body: { response: string } };

export type TransportDeps = {
  db: Db;
  clock: Clock;
  pki: PkiService;
  hcn: Pick<HostCommonNameService, 'current' | 'isSyncRequired'>;
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
  private signerCache?: Promise<{ sign(claims: Record<string, unknown>): string }>;

  /** Parsed instance keys by PEM: parsing one costs more than verifying a signature with it. */
  private readonly publicKeys = new Map<string, KeyObject>();

  constructor(private readonly deps: TransportDeps) {}

  async handle(compact: string): Promise<TransportAnswer> {
    const message = parseMessage(compact);
    const sender = message.claims.typ === 'register' ? udiSubject(message.claims.udi) : message.kid!;
    const requestHash = createHash('sha256').update(message.jws.payloadSegment).digest('hex');
    const stored = await this.deps.idempotency.find(sender, message.claims.jti);
    if (stored) return replay(stored, requestHash);

    const now = this.deps.clock();
    await this.checkAudienceAndAge(message, now);
    const key = { sender, jti: message.claims.jti, requestHash };
    try {
      switch (message.claims.typ) {
        case 'register':
          return await this.register(message, message.claims, key, now);
        case 'renew':
          return await this.renew(message, message.claims, key, now);
        case 'authorize':
          return await this.authorize(message, message.claims, key, now);
        case 'deregister':
          return await this.deregister(message, key, now);
      }
    } catch (err) {
      if (!(err instanceof AlreadyAnswered)) throw err;
      const answer = await this.deps.idempotency.find(sender, message.claims.jti);
      if (!answer) throw new AppError('INTERNAL_ERROR', 500, 'idempotency record vanished');
      return replay(answer, requestHash);
    }
  }

  private async checkAudienceAndAge(message: ProductMessage, now: Date): Promise<void> {
    const current = await this.deps.hcn.current();
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

  private async register(message: ProductMessage, claims: RegisterClaims, key: IdemKey, now: Date): Promise<TransportAnswer> {
    if (await this.deps.hcn.isSyncRequired()) {
      throw conflict('SYNC_REQUIRED', 'the Host Common Name changed: the server must synchronize before products can register');
    }
    const csr = parseAndVerifyCsr(claims.csr);
    verifyJws(message.jws, csr.publicKey);
    return this.apply(key, now, async (tx, keys) => {
      const token = await this.deps.tokens.consume(tx, claims.idToken, now);
      const existing = await lockInstanceByUdi(tx, claims.udi) ?? (await this.insertPlaceholder(tx, claims, token.virtualAccountId, now));
      if (existing.status === 'REGISTERED' && existing.virtualAccountId !== token.virtualAccountId) {
        // Its usage belongs to the old virtual account; the product reports again on its next authorize.
        await releaseUsage(tx, existing);
      }
      const cert = issueIdCertificate(keys.ca, csr.publicKey, claims.udi, now);
      await tx.productInstance.update({
        where: { id: existing.id },
        data: {
          virtualAccountId: token.virtualAccountId,
          tokenId: token.tokenId,
          name: claims.hostname,
          productType: claims.productType,
          softwareVersion: claims.softwareVersion ?? null,
          status: 'REGISTERED',
          exportControlled: token.exportControlled,
          certSerial: cert.serialHex,
          certPem: cert.pem,
          publicKeyPem: csr.publicKey.export({ type: 'spki', format: 'pem' }) as string,
          certNotAfter: cert.notAfter,
          lastContactAt: now,
          deregisteredAt: null,
        },
      });
      await this.deps.events.record({
        actor: key.sender,
        action: existing.isNew ? 'product.register' : 'product.reregister',
        objectType: 'product-instance',
        objectId: existing.id,
        outcome: 'success',
        details: { account: token.accountName, virtualAccount: token.virtualAccountName, tokenId: token.tokenId, certSerial: cert.serialHex },
      }, tx);
      return {
        typ: 'register',
        status: 'REGISTERED',
        productInstance: {
          id: existing.id,
          name: claims.hostname,
          udi: { pid: claims.udi.pid, sn: claims.udi.sn },
          smartAccount: token.smartAccount,
          virtualAccount: token.virtualAccountName,
        },
        idCertificate: cert.pem,
        caChain: [keys.ca.certPem],
        renewAfter: addMonths(now, RENEW_AFTER_MONTHS).toISOString(),
        exportControlled: token.exportControlled,
      };
    });
  }

  private async renew(message: ProductMessage, claims: RenewClaims, key: IdemKey, now: Date): Promise<TransportAnswer> {
    const instance = await this.authenticate(message, now);
    const newKey = claims.csr ? parseAndVerifyCsr(claims.csr).publicKey : this.publicKey(instance.publicKeyPem);
    return this.apply(key, now, async (tx, keys) => {
      await this.lockRegistered(tx, instance.id, now);
      const cert = issueIdCertificate(keys.ca, newKey, { pid: instance.udiPid, sn: instance.udiSn }, now);
      await tx.productInstance.update({
        where: { id: instance.id },
        data: {
          certSerial: cert.serialHex,
          certPem: cert.pem,
          publicKeyPem: newKey.export({ type: 'spki', format: 'pem' }) as string,
          certNotAfter: cert.notAfter,
          lastContactAt: now,
        },
      });
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
  private async authorize(message: ProductMessage, claims: AuthorizeClaims, key: IdemKey, now: Date): Promise<TransportAnswer> {
    const instance = await this.authenticate(message, now);
    return this.apply(key, now, async (tx) => {
      const locked = await this.lockRegistered(tx, instance.id, now, true);
      await replaceUsage(tx, locked, claims.entitlements);
      const statuses = await this.deps.licenses.complianceForTags(tx, locked.virtualAccountId, claims.entitlements.map((e) => e.tag), now);
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

  private async deregister(message: ProductMessage, key: IdemKey, now: Date): Promise<TransportAnswer> {
    const instance = await this.authenticate(message, now);
    return this.apply(key, now, async (tx) => {
      const locked = await this.lockRegistered(tx, instance.id, now, true);
      await deregister(tx, locked, now);
      await this.deps.events.record({
        actor: instance.id, action: 'product.deregister', objectType: 'product-instance', objectId: instance.id, outcome: 'success',
      }, tx);
      return { typ: 'deregister', status: 'DEREGISTERED' };
    });
  }

  /** The instance named by `kid`, with the JWS verified against its current key. */
  private async authenticate(message: ProductMessage, now: Date): Promise<InstanceRow> {
    const kid = message.kid!;
    const instance = UUID.test(kid)
      ? await this.deps.db.productInstance.findUnique({
          where: { id: kid },
          select: { id: true, udiPid: true, udiSn: true, status: true, publicKeyPem: true, certNotAfter: true },
        })
      : null;
    if (!instance) throw new AppError('UNKNOWN_PRODUCT_INSTANCE', 404, `no product instance with id ${kid}`);
    verifyJws(message.jws, this.publicKey(instance.publicKeyPem));
    checkUsable({ ...instance, virtualAccountId: '', status: instance.status as LockedInstance['status'] }, now);
    return instance;
  }

  private publicKey(pem: string): KeyObject {
    let key = this.publicKeys.get(pem);
    if (!key) {
      if (this.publicKeys.size >= 10_000) this.publicKeys.clear();
      key = createPublicKey(pem);
      this.publicKeys.set(pem, key);
    }
    return key;
  }

  /** Re-checks under the row lock: an admin may have removed the instance meanwhile. */
  private async lockRegistered(tx: Tx, id: string, now: Date, recordContact = false): Promise<LockedInstance> {
    const locked = await lockInstance(tx, id, recordContact ? now : undefined);
    if (!locked) throw new AppError('UNKNOWN_PRODUCT_INSTANCE', 404, `no product instance with id ${id}`);
    checkUsable(locked, now);
    return locked;
  }

  private async insertPlaceholder(tx: Tx, claims: RegisterClaims, virtualAccountId: string, now: Date) {
    // Racing first registrations of one UDI: the loser's insert waits, does nothing, and then locks the winner's row.
    const id = randomUUID();
    const inserted = await tx.$executeRaw`
      INSERT INTO product_instance (id, virtual_account_id, udi_pid, udi_sn, name, product_type, cert_serial, cert_pem,
                                    public_key_pem, cert_not_after, registered_at, last_contact_at)
      VALUES (${id}::uuid, ${virtualAccountId}::uuid, ${claims.udi.pid}, ${claims.udi.sn}, ${claims.hostname}, ${claims.productType},
              '', '', '', ${now}, ${now}, ${now})
      ON CONFLICT (udi_pid, udi_sn) DO NOTHING`;
    const row = await lockInstanceByUdi(tx, claims.udi);
    if (!row) throw new AppError('INTERNAL_ERROR', 500, 'product instance row vanished');
    return { ...row, isNew: inserted === 1 };
  }

  /**
   * Runs the effect and stores its signed answer under (sender, jti) in one transaction. Keys are
   * loaded before it starts: a transaction must not wait for a second pool connection, or a burst
   * of registrations queued on one token's row lock could hold every connection and stall.
   */
  private async apply(
    key: IdemKey,
    now: Date,
    effect: (tx: Tx, keys: { ca: Credential }) => Promise<Record<string, unknown>>,
  ): Promise<TransportAnswer> {
    const [ca, signer] = await Promise.all([this.deps.pki.ca(), this.signer()]);
    return this.deps.db.$transaction(
      async (tx) => {
        if (!(await this.deps.idempotency.claim(tx, key.sender, key.jti, key.requestHash))) throw new AlreadyAnswered();
        const claims = await effect(tx, { ca });
        const body = { response: signer.sign({ ...claims, iat: Math.floor(now.getTime() / 1000), requestJti: key.jti }) };
        await this.deps.idempotency.complete(tx, key.sender, key.jti, 200, body);
        return { httpStatus: 200, body };
      },
      { timeout: 15_000, maxWait: 15_000 },
    );
  }

  private signer() {
    this.signerCache ??= (async () => {
      const [signer, ca] = await Promise.all([this.deps.pki.responseSigner(), this.deps.pki.ca()]);
      const x5c = [pemToDerBase64(signer.certPem), pemToDerBase64(ca.certPem)];
      return { sign: (claims: Record<string, unknown>) => signJws(claims, signer.key, { x5c }) };
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

async function lockInstanceByUdi(tx: Tx, udi: { pid: string; sn: string }) {
  const locked = await lockInstance(tx, udi);
  return locked ? { ...locked, isNew: false } : null;
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
