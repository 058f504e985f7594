import { faultLines, jsonLines, lineOf } from './json-lines';

const FILE = `{
  "licenses": [
    {
      "account": "Acme",
      "tag": "a,\\"b\\"",
      "quantity": -1
    },
    { "account": "Acme", "nested": { "deep": [1, 2] }, "quantity": 3 },
    {
      "account": "Acme"
    }
  ]
}`;

describe('jsonLines', () => {
  const lines = jsonLines(FILE);

  test('When a JSON text is scanned, then each key and array element maps to the line it starts on', () => {
    expect(lines.get('licenses')).toBe(2);
    expect(lines.get('licenses.0')).toBe(3);
    expect(lines.get('licenses.0.tag')).toBe(5);
    expect(lines.get('licenses.0.quantity')).toBe(6);
    expect(lines.get('licenses.1')).toBe(8);
    expect(lines.get('licenses.1.quantity')).toBe(8);
    expect(lines.get('licenses.1.nested.deep.1')).toBe(8);
    expect(lines.get('licenses.2.account')).toBe(10);
  });

  test('When a field is missing from an entry, then its line falls back to the entry, then the array', () => {
    expect(lineOf(lines, 'licenses', 2, 'quantity')).toBe(9);
    expect(lineOf(lines, 'licenses', 7, 'quantity')).toBe(2);
    expect(lineOf(lines, 'licenses', undefined, 'licenses')).toBe(2);
    expect(lineOf(new Map(), 'licenses', undefined, 'licenses')).toBe(1);
  });

  test('When faults come back from the server, then each is printed with file, line, entry and field', () => {
    expect(faultLines('ent.json', FILE, [
      { index: 0, field: 'quantity', message: 'must be 0 or more' },
      { index: 2, field: 'tag', message: 'Invalid input' },
      { field: 'licenses', message: 'too many' },
    ])).toEqual([
      'ent.json:6: licenses[0].quantity must be 0 or more',
      'ent.json:9: licenses[2].tag Invalid input',
      'ent.json:2: licenses too many',
    ]);
  });
});
