import type { TestServer } from './test-server';

/** Test data for the license features, set up through the admin API where it exists. */
export function licenseFixtures(server: TestServer, adminToken: () => string) {
  const post = (path: string, body: unknown) => server.http().post(path).auth(adminToken(), { type: 'bearer' }).send(body as object);
  const expectOk = (res: { status: number; body: unknown }, what: string) => {
    if (res.status >= 300) throw new Error(`${what} failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res;
  };

  return {
    /** Requests and approves an account and adds virtual accounts besides Default. */
    async account(name: string, virtualAccounts: string[] = []) {
      const enc = encodeURIComponent(name);
      expectOk(await post('/api/v1/accounts', { name }), 'account request');
      expectOk(await post(`/api/v1/accounts/${enc}/approve`, {}), 'account approval');
      for (const va of virtualAccounts) expectOk(await post(`/api/v1/accounts/${enc}/virtual-accounts`, { name: va }), 'virtual account');
    },

    /** An API client of the account and an access token from the OAuth endpoint. */
    async accessToken(account: string, clientName = 'monitor') {
      const created = expectOk(await post(`/api/v1/accounts/${encodeURIComponent(account)}/api-clients`, { name: clientName }), 'api client');
      const { clientId, clientSecret } = created.body as { clientId: string; clientSecret: string };
      const token = expectOk(
        await server.http().post('/backend/oauth/token').send({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
        'oauth token',
      );
      return (token.body as { access_token: string }).access_token;
    },

    importLicenses(licenses: Record<string, unknown>[]) {
      return post('/api/v1/licenses/import', { licenses });
    },

    async virtualAccountId(account: string, virtualAccount = 'Default') {
      const va = await server.ctx.db.virtualAccount.findFirstOrThrow({ where: { name: virtualAccount, account: { name: account } } });
      return va.id;
    },

    /**
     * Sets the in-use total of a tag as the transport feature keeps it (usage_total), standing in
     * for product reports in tests of the reading side.
     */
    async setUsage(account: string, virtualAccount: string, tag: string, inUse: number) {
      const virtualAccountId = await this.virtualAccountId(account, virtualAccount);
      await server.ctx.db.usageTotal.upsert({
        where: { virtualAccountId_tag: { virtualAccountId, tag } },
        create: { virtualAccountId, tag, inUse },
        update: { inUse },
      });
    },

    /** A registered product instance row (registration itself is the transport feature's). */
    async productInstance(account: string, virtualAccount: string, name: string, times: { certNotAfter: Date; lastContactAt: Date }, status: 'REGISTERED' | 'DEREGISTERED' = 'REGISTERED') {
      return server.ctx.db.productInstance.create({
        data: {
          virtualAccountId: await this.virtualAccountId(account, virtualAccount),
          udiPid: 'C9300-24T', udiSn: `SN-${name}`, name, productType: 'UCL', status,
          certSerial: `serial-${name}`, certPem: 'not used by these tests', publicKeyPem: 'not used by these tests', ...times,
        },
      });
    },
  };
}

export const licenseLine = (account: string, tag: string, quantity: number, extra: Record<string, unknown> = {}) => ({
  account, virtualAccount: 'Default', tag, displayName: `${tag} license`, billingType: 'PERPETUAL', quantity, ...extra,
});
