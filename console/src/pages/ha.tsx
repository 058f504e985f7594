export function HaPage(_p: Record<string, unknown>) { return null; }
