import { ServerMetrics } from './metrics';
import { unreadableSources as sources } from '../../tests/support/unreadable-metric-sources';

const jws = (claims: unknown) => `eyJhbGciOiJFUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

describe('ServerMetrics', () => {
  test('When the database cannot be read, then the scrape still answers with process metrics and counts the failure', async () => {
    const metrics = new ServerMetrics(sources());
    const text = await metrics.render();
    expect(text).toContain('slm_metrics_state_errors_total 1');
    expect(text).toContain('slm_db_pool_max 4');
    expect(text).toContain('slm_ha_role{role="standalone"} 1');
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(text).not.toMatch(/^slm_product_instances\{/m);
  });

  test('When product messages are observed, then the type comes from the JWS typ claim and anything else is "invalid"', async () => {
    const metrics = new ServerMetrics(sources());
    metrics.observeProductMessage(jws({ typ: 'register' }), 'OK');
    metrics.observeProductMessage(jws({ typ: 'register' }), 'TOKEN_EXPIRED');
    metrics.observeProductMessage(jws({ typ: 'drop-tables' }), 'INVALID_MESSAGE');
    metrics.observeProductMessage('not a jws', 'INVALID_MESSAGE');
    metrics.observeProductMessage({ typ: 'renew' }, 'INVALID_MESSAGE');
    const text = await metrics.render();
    expect(text).toContain('slm_product_messages_total{type="register",outcome="OK"} 1');
    expect(text).toContain('slm_product_messages_total{type="register",outcome="TOKEN_EXPIRED"} 1');
    expect(text).toContain('slm_product_messages_total{type="invalid",outcome="INVALID_MESSAGE"} 3');
    expect(text).toContain('slm_product_registrations_total 1');
    expect(text).not.toContain('drop-tables');
  });
});
