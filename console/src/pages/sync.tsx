export function SyncPage(_p: Record<string, unknown>) { return null; }
