import { FailureSampler } from './failure-sampler';

describe('FailureSampler', () => {
  test('When one key fails repeatedly in a window, then only the first is recorded and the next window reports the rest', () => {
    let now = 0;
    const sampler = new FailureSampler(60_000, 10, () => now);
    expect(sampler.sample('alice', '10.0.0.1')).toEqual({ address: '10.0.0.1' });
    for (let i = 0; i < 5; i++) expect(sampler.sample('alice', '10.0.0.1')).toBeUndefined();
    now = 60_000;
    expect(sampler.sample('alice', '10.0.0.1')).toEqual({ address: '10.0.0.1', unrecordedFailuresBefore: 5 });
  });

  test('When many keys fail in one window, then at most maxPerWindow are recorded', () => {
    const sampler = new FailureSampler(60_000, 3, () => 0);
    const recorded = Array.from({ length: 50 }, (_, i) => sampler.sample(`user${i}`, 'a')).filter(Boolean);
    expect(recorded).toHaveLength(3);
  });
});
