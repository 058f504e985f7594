import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from '../clock';
import type { SqlTx, Store } from '../store/database';
import type { PkiService } from '../pki/pki-service';
import type { EventLog } from '../events/event-log';
import type { ConsumedToken, TokenConsumer, VerifiedToken } from '../tokens/token-service';
import { parseAndVerifyCsr } from '../pki/x509';
import { AppError, conflict, unauthorized } from '../errors';
import { addMonths, canonicalHost, replay, spkiDer, spkiPem, type ComplianceSource, type IdemKey, type Signer, type TransportAnswer } from './transport-rules';
import { jwsSigner, pemToDerBase64, verifyJws } from './jws';
import { parseMessage, udiSubject, type AuthorizeClaims, type ProductMessage, type RegisterClaims, type RenewClaims } from './messages';
import type { IdempotencyStore } from './idempotency';
import { issueIdCertificate } from './id-certificate';
import { assertRegistered, deregister, lockInstanceStatement, type LockedInstance } from './usage-ledger';
import {
  KeyChanged, preflight, refusal, registerAnswerSql, registerSql, TokenRefused, type InstanceRow, type RegisterCall, type RegisterRow,
} from './transport-statements';
import { InstanceKeys } from './instance-keys';
import { Authorizations } from './authorize-message';

type Tx = SqlTx;

export type TransportDeps = {
  /** Raw SQL and transactions: the product-message path runs on the pool directly (see Store.transaction). */
  store: Pick<Store, 'sql' | 'transaction' | 'twoStep'>;
  clock: Clock;
  pki: PkiService;
  tokens: TokenConsumer;
  licenses: ComplianceSource;
  events: EventLog;
  idempotency: IdempotencyStore;
  clockSkewSeconds: number;
};

export const RENEW_AFTER_MONTHS = 6;

/** Thrown inside a transaction whose (sender, jti) another transaction already answered. */
class AlreadyAnswered extends Error {}

/**
 * The Transport Gateway protocol (transport-protocol.md). Each accepted message is applied in one
 * transaction together with its stored answer, so a resent message is answered from the store and
 * never applied twice.
 *
 * Check order for a new message: shape (INVALID_MESSAGE), stored answer for (sender, jti)
 * (same payload: the stored answer, whatever its age; different payload: REPLAYED_MESSAGE),
 * `aud` (HOST_COMMON_NAME_MISMATCH), `iat` (STALE_MESSAGE), then per type: register checks
 * SYNC_REQUIRED, the token (cheap), the CSR and the JWS against the CSR key, then whether the UDI
 * may move (UDI_REGISTERED_ELSEWHERE); the others look the instance up (UNKNOWN_PRODUCT_INSTANCE),
 * verify the JWS with its key (BAD_SIGNATURE), then PRODUCT_INSTANCE_DEREGISTERED and
 * CERTIFICATE_EXPIRED. An authorize from an instance whose key is cached skips the preflight read
 * (authorizeKnown): its one statement claims first, so the order the product sees is the same.
 */
export class TransportService {
  private signerCache?: Promise<Signer>;

  private readonly keys = new InstanceKeys();
  private readonly authorizations: Authorizations;

  constructor(private readonly deps: TransportDeps) {
    this.authorizations = new Authorizations(deps, this.keys, () => this.signer());
  }

  async handle(compact: string): Promise<TransportAnswer> {
    const message = parseMessage(compact);
    const sender = message.claims.typ === 'register' ? udiSubject(message.claims.udi) : message.kid!;
    const requestHash = createHash('sha256').update(message.jws.payloadSegment).digest('hex');
    if (message.claims.typ === 'authorize') {
      const answer = await this.authorizations.known(message, message.claims, { sender, jti: message.claims.jti, requestHash });
      if (answer) return answer;
    }
    // A registration's token: its signature now (in process), its state with the preflight read; a
    // refusal is reported after the stored-answer check, so a resent registration still gets its answer.
    const verifiedToken = message.claims.typ === 'register' ? this.verifyToken(message.claims.idToken) : undefined;
    const now = this.deps.clock();
    const usableToken = verifiedToken && !(verifiedToken instanceof Error) ? this.deps.tokens.usableTokenQuery(verifiedToken, now) : undefined;
    const state = await preflight(this.deps.store.sql, sender, message.claims.jti, message.kid, usableToken);
    if (state.stored) return replay(state.stored, requestHash);

    this.checkAudienceAndAge(message, state.hostCommonName, now);
    const key = { sender, jti: message.claims.jti, requestHash };
    try {
      switch (message.claims.typ) {
        case 'register':
          return await this.register(message, message.claims, state.syncRequired, { verified: verifiedToken!, usable: state.token }, key, now);
        case 'renew':
          return await this.renew(message, message.claims, state.instance, key, now);
        case 'authorize':
          return await this.authorize(message, message.claims, state.instance, state.hostCommonName, key, now);
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

  /** The token's claims if its signature verifies, else why not (thrown later, in the documented order). */
  private verifyToken(idToken: string): VerifiedToken | Error {
    try {
      return this.deps.tokens.verify(idToken);
    } catch (err) {
      return err as Error;
    }
  }

  private async register(
    message: ProductMessage, claims: RegisterClaims, syncRequired: boolean,
    tokenState: { verified: VerifiedToken | Error; usable: ConsumedToken | null }, key: IdemKey, now: Date,
  ): Promise<TransportAnswer> {
    if (syncRequired) {
      throw conflict('SYNC_REQUIRED', 'the Host Common Name changed: the server must synchronize before products can register');
    }
    // Cheap refusals first (the token's signature and state, both known already), so a bad token
    // never buys the CSR parse, two signature checks and a certificate.
    if (tokenState.verified instanceof Error) throw tokenState.verified;
    const verifiedToken = tokenState.verified;
    const token = tokenState.usable ?? (await this.deps.tokens.refuse(this.deps.store.sql, verifiedToken, now));
    const csr = parseAndVerifyCsr(claims.csr);
    verifyJws(message.jws, csr.publicKey);
    const ca = await this.deps.pki.ca();
    const cert = issueIdCertificate(ca, csr.spki, claims.udi, now);
    const signer = await this.signer();
    const call: RegisterCall = {
      ...key,
      udi: claims.udi,
      newId: randomUUID(),
      token,
      name: claims.hostname,
      productType: claims.productType,
      softwareVersion: claims.softwareVersion ?? null,
      exportControlled: token.exportControlled,
      cert,
      keyPem: spkiPem(csr.spki),
      now,
      eventDetails: { account: token.accountName, virtualAccount: token.virtualAccountName, tokenId: token.tokenId, certSerial: cert.serialHex },
    };
    let instanceId: string | undefined;
    let answer: TransportAnswer;
    try {
      answer = await this.deps.store.twoStep<RegisterRow, TransportAnswer>(registerSql(call), async ([{ result }]) => {
        if ('stored' in result) return { result: replay(result.stored, key.requestHash) };
        instanceId = result.id;
        const body = { response: signer({
          typ: 'register',
          status: 'REGISTERED',
          productInstance: {
            id: result.id,
            name: claims.hostname,
            udi: { pid: claims.udi.pid, sn: claims.udi.sn },
            smartAccount: token.smartAccount,
            virtualAccount: token.virtualAccountName,
          },
          idCertificate: cert.pem,
          caChain: [ca.certPem],
          renewAfter: addMonths(now, RENEW_AFTER_MONTHS).toISOString(),
          exportControlled: token.exportControlled,
          iat: Math.floor(now.getTime() / 1000),
          requestJti: key.jti,
        }) };
        return { result: { httpStatus: 200, body }, last: registerAnswerSql(call, body) };
      });
    } catch (thrown) {
      const err = refusal(thrown) ?? thrown;
      if (err instanceof TokenRefused) await this.deps.tokens.refuse(this.deps.store.sql, verifiedToken, now);
      throw err;
    }
    if (instanceId) this.keys.remember(instanceId, call.keyPem, csr.publicKey);
    return answer;
  }

  private async renew(message: ProductMessage, claims: RenewClaims, known: InstanceRow | null, key: IdemKey, now: Date): Promise<TransportAnswer> {
    const instance = this.authenticate(message, known, now);
    const csr = claims.csr ? parseAndVerifyCsr(claims.csr) : undefined;
    const newKey = csr ? csr.publicKey : this.keys.key(instance.id, instance.publicKeyPem);
    const publicKeyPem = csr ? spkiPem(csr.spki) : instance.publicKeyPem;
    const cert = issueIdCertificate(await this.deps.pki.ca(), csr ? csr.spki : spkiDer(instance.publicKeyPem), { pid: instance.udiPid, sn: instance.udiSn }, now);
    const answer = await this.apply(key, now, { which: instance.id }, async (tx, locked) => {
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
    this.keys.remember(instance.id, publicKeyPem, newKey);
    return answer;
  }

  private async authorize(message: ProductMessage, claims: AuthorizeClaims, known: InstanceRow | null, hostCommonName: string, key: IdemKey, now: Date): Promise<TransportAnswer> {
    const instance = this.authenticate(message, known, now);
    try {
      return await this.authorizations.apply(key, claims, instance.id, instance.publicKeyPem, hostCommonName, now);
    } catch (err) {
      // Its key changed since the preflight read it: the message is signed by a key that no longer speaks for it.
      if (err instanceof KeyChanged) throw unauthorized('BAD_SIGNATURE', 'JWS signature does not verify with the current key');
      throw err;
    }
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
    verifyJws(message.jws, this.keys.key(instance.id, instance.publicKeyPem));
    checkUsable({ ...instance, virtualAccountId: '', status: instance.status as LockedInstance['status'] }, now);
    return instance;
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
    lock: { which: string; contactAt?: Date },
    effect: (tx: Tx, locked: LockedInstance | null) => Promise<Record<string, unknown>>,
  ): Promise<TransportAnswer> {
    const signer = await this.signer();
    return this.deps.store.transaction(async (tx) => {
      const { claimed, row } = await this.deps.idempotency.claimThen<LockedInstance>(tx, key, (onlyIf) =>
        lockInstanceStatement(lock.which, lock.contactAt, onlyIf));
      if (!claimed) throw new AlreadyAnswered();
      return this.answer(tx, signer, key, now, await effect(tx, row));
    });
  }

  /** Signs the answer and stores it for (sender, jti), in the transaction of the effect. */
  private async answer(tx: Tx, signer: Signer, key: IdemKey, now: Date, claims: Record<string, unknown>): Promise<TransportAnswer> {
    const body = { response: signer({ ...claims, iat: Math.floor(now.getTime() / 1000), requestJti: key.jti }) };
    await this.deps.idempotency.complete(tx, key.sender, key.jti, 200, body);
    return { httpStatus: 200, body };
  }

  private signer(): Promise<Signer> {
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


function checkUsable(instance: LockedInstance, now: Date): void {
  assertRegistered(instance);
  if (instance.certNotAfter.getTime() <= now.getTime()) {
    throw unauthorized('CERTIFICATE_EXPIRED', 'the ID certificate of this product instance has expired: register again');
  }
}

/** Re-checks under the row lock: an admin may have removed the instance meanwhile. */
function usable(locked: LockedInstance | null, id: string, now: Date): LockedInstance {
  if (!locked) throw new AppError('UNKNOWN_PRODUCT_INSTANCE', 404, `no product instance with id ${id}`);
  checkUsable(locked, now);
  return locked;
}

