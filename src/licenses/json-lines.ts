import type { EntitlementFault } from './entitlement-file';

/**
 * The 1-based line on which each member key and array element of a (valid) JSON text starts,
 * keyed by its path joined with dots (`licenses.3.tag`), so a fault the server reports by entry
 * index and field can be shown at its line in the file the admin edits.
 */
export function jsonLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  let i = 0;
  let line = 1;
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i])) {
      if (text[i] === '\n') line++;
      i++;
    }
  };
  const readString = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const readValue = (path: string) => {
    skipSpace();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      skipSpace();
      let index = 0;
      while (i < text.length && text[i] !== close) {
        skipSpace();
        const at = line;
        const key = c === '{' ? readString() : String(index++);
        const memberPath = path ? `${path}.${key}` : key;
        lines.set(memberPath, at);
        if (c === '{') {
          skipSpace();
          i++; // the colon
        }
        readValue(memberPath);
        skipSpace();
        if (text[i] === ',') i++;
        skipSpace();
      }
      i++;
    } else if (c === '"') {
      readString();
    } else {
      while (i < text.length && !/[\s,\]}]/.test(text[i])) i++;
    }
  };
  readValue('');
  return lines;
}

/** The line of a field of an entry, falling back to the entry, then to the array, then to line 1. */
export function lineOf(lines: Map<string, number>, arrayKey: string, index: number | undefined, field: string): number {
  if (index === undefined) return lines.get(arrayKey) ?? 1;
  return lines.get(`${arrayKey}.${index}.${field}`) ?? lines.get(`${arrayKey}.${index}`) ?? lines.get(arrayKey) ?? 1;
}

/** The server's faults of an entitlement file, each placed at its line in the file the admin edits. */
export function faultLines(fileName: string, text: string, faults: EntitlementFault[]): string[] {
  const lines = jsonLines(text);
  return faults.map((f) => {
    const where = f.index === undefined ? f.field : `licenses[${f.index}].${f.field}`;
    return `${fileName}:${lineOf(lines, 'licenses', f.index, f.field)}: ${where} ${f.message}`;
  });
}
