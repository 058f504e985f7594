import { containsNul } from './hostile-input';

describe('containsNul', () => {
  test('When a NUL is in a nested string or key, then it is found; otherwise not', () => {
    expect(containsNul({ a: [{ b: 'x\u0000' }] })).toBe(true);
    expect(containsNul({ ['k\u0000']: 1 })).toBe(true);
    expect(containsNul({ a: [1, 'two', { c: null }] })).toBe(false);
  });

  test('When the value is nested 100000 levels deep, then it is walked without exhausting the stack', () => {
    let deep: unknown = 'end\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(containsNul(deep)).toBe(true);
  });
});
