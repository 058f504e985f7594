/** Plain SQL with $n parameters, on node-postgres or PGlite. */
export type Query = (sql: string, params?: unknown[]) => Promise<unknown>;

/**
 * Seeds `instances` product instances into one virtual account with set-based SQL (registering
 * that many real products would take a benchmark's whole budget): each reports two of the
 * `licenses` tags `regid.scale.TAG_nn`, counts 1..4, and usage_total is computed from them.
 */
export async function seedScaleInstances(query: Query, virtualAccountId: string, instances: number, licenses: number): Promise<void> {
  await query(`
    INSERT INTO product_instance (id, virtual_account_id, udi_pid, udi_sn, name, product_type, cert_serial, cert_pem, public_key_pem,
                                  cert_not_after, registered_at, last_contact_at)
    SELECT gen_random_uuid(), $1::uuid, 'SCALE', 'SN' || g, 'scale-' || lpad(g::text, 6, '0'), 'UCL', 'seeded', '', '',
           now() + interval '300 days', now(), now()
    FROM generate_series(1, ${instances}) g`, [virtualAccountId]);
  await query(`
    INSERT INTO usage (product_instance_id, tag, count)
    SELECT p.id, 'regid.scale.TAG_' || lpad(t.k::text, 2, '0'), 1 + n % 4
    FROM (SELECT id, substr(udi_sn, 3)::int AS n FROM product_instance WHERE virtual_account_id = $1::uuid) p
    CROSS JOIN LATERAL (VALUES (p.n % ${licenses}), ((p.n * 7 + 3) % ${licenses})) AS t(k)
    ON CONFLICT DO NOTHING`, [virtualAccountId]);
  await query(`
    INSERT INTO usage_total (virtual_account_id, tag, in_use)
    SELECT $1::uuid, u.tag, SUM(u.count) FROM usage u JOIN product_instance p ON p.id = u.product_instance_id
    WHERE p.virtual_account_id = $1::uuid GROUP BY u.tag`, [virtualAccountId]);
}
