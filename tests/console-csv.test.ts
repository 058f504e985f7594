import { toCsv } from '../console/src/components/files';

describe('Console reports: CSV', () => {
  test('When a field holds a comma, quote or line break, then it is quoted with quotes doubled (RFC 4180)', () => {
    expect(toCsv(['a', 'b'], [['x,y', 'say "hi"'], ['line\nbreak', null]])).toBe('a,b\r\n"x,y","say ""hi"""\r\n"line\nbreak",\r\n');
  });

  test('When text starts like a spreadsheet formula, then it gets an apostrophe; numbers keep their sign', () => {
    expect(toCsv(['name', 'balance'], [['=HYPERLINK("x")', -2], ['@sum', 3], ['+1', 0]])).toBe(`name,balance\r\n"'=HYPERLINK(""x"")",-2\r\n'@sum,3\r\n'+1,0\r\n`);
  });
});
