export function ApiToolkitPage(_p: Record<string, unknown>) { return null; }
